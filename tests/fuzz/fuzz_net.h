/* SPDX-License-Identifier: Apache-2.0 */
/* The small fixed network the job harnesses (fuzz_jobs, fuzz_job_decode) decode against: three
 * hubs (one id shared with a cluster, to reach the "hub or cluster?" path), three clusters of the
 * three classes, two sites. */
#ifndef CPN_FUZZ_NET_H
#define CPN_FUZZ_NET_H

static const char net_json[] =
    "{\"name\": \"fuzz\", \"hubs\": [{\"id\": \"west\", \"region\": \"west\"}, {\"id\": \"east\", "
    "\"region\": \"east\"}, {\"id\": \"dup\", \"region\": \"east\"}],"
    " \"zones\": [{\"id\": \"z\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.5, "
    "\"price_cny_per_kwh\": 0.3}],"
    " \"clusters\": ["
    "{\"id\": \"c1\", \"hub\": \"west\", \"zone\": \"z\", \"lon\": 111, \"lat\": 40, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},"
    "{\"id\": \"c2\", \"hub\": \"east\", \"zone\": \"z\", \"lon\": 116, \"lat\": 40, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"intelligent\", \"units\": 10, \"tflops\": 300, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},"
    "{\"id\": \"dup\", \"hub\": \"dup\", \"zone\": \"z\", \"lon\": 121, \"lat\": 31, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"super\", \"units\": 10, \"tflops\": 9, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]}],"
    " \"sites\": [{\"id\": \"beijing\", \"lon\": 116.4, \"lat\": 39.9}, {\"id\": \"shanghai\", "
    "\"lon\": 121.5, \"lat\": 31.2}]}";

#endif
