/* SPDX-License-Identifier: Apache-2.0 */
/* Distances and modelled network delay. The great-circle distance is the haversine formula on a
 * sphere of the mean Earth radius (IUGG, 6371.0088 km); the round-trip time models fibre along a
 * route longer than the great circle by route_factor, at fibre_us_per_km one way, plus a fixed
 * equipment delay per direction. The defaults reproduce published anchors (Beijing-Helinger about
 * 6.3 ms, Shanghai-Zhongwei about 22 ms). */
#include <math.h>

#include "cpnet/model.h"

#define EARTH_RADIUS_KM 6371.0088
#define DEG_TO_RAD      (3.14159265358979323846 / 180.0)

double cpn_geo_km(double lon1, double lat1, double lon2, double lat2)
{
    double p1 = lat1 * DEG_TO_RAD, p2 = lat2 * DEG_TO_RAD;
    double dp = (lat2 - lat1) * DEG_TO_RAD, dl = (lon2 - lon1) * DEG_TO_RAD;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    if (a > 1)
        a = 1;
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a));
}

double cpn_network_model_rtt_ms(const struct cpn_network *net, double km)
{
    return 2 * (km * net->route_factor * net->fibre_us_per_km / 1000.0 + net->equipment_ms);
}
