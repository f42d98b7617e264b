/* SPDX-License-Identifier: Apache-2.0 */
/* The Slurm executor's parsers, table-driven on output captured from a real Slurm 22.05.8
 * (Debian 12, the single-node cluster of tests/agent/slurm-up.sh, 2026-11-23): squeue with the
 * executor's format, `scontrol show job -o`, `scontrol -d show node -o` (idle, mixed with GPUs in
 * use, drained), `scontrol show partition -o`, jobcomp/filetxt lines and sbatch --parsable; then
 * the state mapping, GRES strings and the partition-to-pool rule, with error cases. */
#include <string.h>

#include "agent/exec_slurm_int.h"
#include "harness.h"

/* ---- captured text (verbatim) ---------------------------------------------------------------- */
/* SQUEUE */
static const char squeue_0[] =
    "2|cpnet-r1|CANCELLED|2026-11-23T18:51:45|2026-11-23T18:51:45|BeginTime";
static const char squeue_1[] =
    "3|cpnet-r2|CANCELLED|2026-11-23T18:52:25|2026-11-23T18:52:25|BeginTime";
static const char squeue_2[] = "4|cpnet-r3|CANCELLED|2026-11-23T18:53:19|2026-11-23T18:53:27|None";
static const char squeue_3[] = "5|cpnet-r4|CANCELLED|2026-11-23T18:53:32|2026-11-23T18:53:37|None";
static const char squeue_4[] =
    "10|cpnet-job_k1|CANCELLED|2026-11-23T18:57:16|2026-11-23T18:57:19|None";
static const char squeue_5[] = "1|cpnet-c1|COMPLETED|2026-11-23T18:51:22|2026-11-23T18:51:23|None";
static const char squeue_6[] =
    "6|cpnet-job_a1|COMPLETED|2026-11-23T18:57:16|2026-11-23T18:57:17|None";
static const char squeue_7[] =
    "7|cpnet-job_f3|FAILED|2026-11-23T18:57:16|2026-11-23T18:57:16|NonZeroExitCode";
static const char squeue_8[] =
    "9|cpnet-job_b9|PENDING|2026-11-23T19:57:16|2026-11-23T20:02:16|BeginTime";
static const char squeue_9[] =
    "11|cpnet-job_s1|PENDING|2026-11-23T18:59:20|2026-11-23T19:04:20|job requeued in held state";
static const char squeue_10[] =
    "8|cpnet-job_g2|RUNNING|2026-11-23T18:57:16|2026-11-23T19:02:16|None";
/* JOB */
static const char job_0[] =
    "JobId=6 JobName=cpnet-job_a1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901753 "
    "Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=00:01:00 TimeMin=N/A "
    "SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 "
    "AccrueTime=2026-11-23T18:57:16 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T18:57:17 "
    "Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-23T18:57:16 "
    "Scheduler=Backfill Partition=batch AllocNode:Sid=localhost:24546 ReqNodeList=(null) "
    "ExcNodeList=(null) NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=2 NumTasks=2 "
    "CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=2,node=1,billing=2 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
    "Network=(null) Command=(null) WorkDir=/work/main Comment=job_a1  StdErr=/dev/null "
    "StdIn=/dev/null StdOut=/dev/null Power= ";
static const char job_1[] =
    "JobId=7 JobName=cpnet-job_f3 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901752 "
    "Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) "
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=00:01:00 "
    "TimeMin=N/A SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 "
    "AccrueTime=2026-11-23T18:57:16 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T18:57:16 "
    "Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-23T18:57:16 "
    "Scheduler=Backfill Partition=batch AllocNode:Sid=localhost:24546 ReqNodeList=(null) "
    "ExcNodeList=(null) NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 NumTasks=1 "
    "CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
    "Network=(null) Command=(null) WorkDir=/work/main Comment=job_f3  StdErr=/dev/null "
    "StdIn=/dev/null StdOut=/dev/null Power= ";
static const char job_2[] =
    "JobId=8 JobName=cpnet-job_g2 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901751 "
    "Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:04 TimeLimit=00:05:00 TimeMin=N/A "
    "SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 "
    "AccrueTime=2026-11-23T18:57:16 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T19:02:16 "
    "Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-23T18:57:16 "
    "Scheduler=Backfill Partition=gpu AllocNode:Sid=localhost:24546 ReqNodeList=(null) "
    "ExcNodeList=(null) NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 NumTasks=1 "
    "CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
    "Network=(null) Command=(null) WorkDir=/work/main Comment=job_g2  StdErr=/dev/null "
    "StdIn=/dev/null StdOut=/dev/null Power= TresPerJob=gres:gpu:t4:2 ";
static const char job_3[] =
    "JobId=9 JobName=cpnet-job_b9 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901750 "
    "Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=BeginTime Dependency=(null) "
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=00:05:00 "
    "TimeMin=N/A SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T19:57:16 "
    "AccrueTime=2026-11-23T19:57:16 StartTime=2026-11-23T19:57:16 EndTime=2026-11-23T20:02:16 "
    "Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-23T18:57:16 "
    "Scheduler=Main Partition=batch AllocNode:Sid=localhost:24546 ReqNodeList=(null) "
    "ExcNodeList=(null) NodeList= NumNodes=1 NumCPUs=4 NumTasks=4 CPUs/Task=1 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=4,mem=24105M,node=1,billing=4 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* "
    "MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 "
    "OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) "
    "WorkDir=/work/main Comment=job_b9  StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= ";
static const char job_4[] =
    "JobId=10 JobName=cpnet-job_k1 UserId=root(0) GroupId=root(0) MCS_label=N/A "
    "Priority=4294901749 Nice=0 Account=(null) QOS=(null) JobState=CANCELLED Reason=None "
    "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:00:03 "
    "TimeLimit=00:05:00 TimeMin=N/A SubmitTime=2026-11-23T18:57:16 "
    "EligibleTime=2026-11-23T18:57:16 AccrueTime=2026-11-23T18:57:16 StartTime=2026-11-23T18:57:16 "
    "EndTime=2026-11-23T18:57:19 Deadline=N/A SuspendTime=None SecsPreSuspend=0 "
    "LastSchedEval=2026-11-23T18:57:16 Scheduler=Backfill Partition=batch "
    "AllocNode:Sid=localhost:24546 ReqNodeList=(null) ExcNodeList=(null) NodeList=localhost "
    "BatchHost=localhost NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 "
    "MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK "
    "Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/work/main Comment=job_k1  "
    "StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= ";
static const char job_5[] =
    "JobId=11 JobName=cpnet-job_s1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=0 Nice=0 "
    "Account=(null) QOS=(null) JobState=PENDING Reason=job_requeued_in_held_state "
    "Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 "
    "TimeLimit=00:05:00 TimeMin=N/A SubmitTime=2026-11-23T18:57:19 "
    "EligibleTime=2026-11-23T18:59:20 AccrueTime=2026-11-23T18:59:20 StartTime=2026-11-23T18:59:20 "
    "EndTime=2026-11-23T19:04:20 Deadline=N/A SuspendTime=None SecsPreSuspend=0 "
    "LastSchedEval=2026-11-23T18:57:16 Scheduler=Main Partition=batch "
    "AllocNode:Sid=localhost:24546 ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 "
    "NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=24105M,node=1,billing=1 "
    "Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 "
    "MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 "
    "Licenses=(null) Network=(null) Command=(null) WorkDir=/work/main Comment=job_s1  "
    "StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= ";
/* NODE */
static const char node_0[] =
    "NodeName=localhost Arch=x86_64 CoresPerSocket=1  CPUAlloc=1 CPUEfctv=36 CPUTot=36 "
    "CPULoad=1.74 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:t4:4 GresDrain=N/A "
    "GresUsed=gpu:t4:2(IDX:0-1) NodeAddr=127.0.0.1 NodeHostName=localhost Version=22.05.8 OS=Linux "
    "6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=24105 AllocMem=0 FreeMem=23608 "
    "Sockets=36 Boards=1 State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A "
    "Partitions=batch,gpu  BootTime=2026-11-23T18:04:28 SlurmdStartTime=2026-11-23T18:51:19 "
    "LastBusyTime=2026-11-23T18:53:37 CfgTRES=cpu=36,mem=24105M,billing=36 AllocTRES=cpu=1 "
    "CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 "
    "ExtSensorsTemp=n/s";
static const char node_1[] =
    "NodeName=localhost Arch=x86_64 CoresPerSocket=1  CPUAlloc=1 CPUEfctv=36 CPUTot=36 "
    "CPULoad=1.74 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:t4:4 GresDrain=N/A "
    "GresUsed=gpu:t4:2(IDX:0-1) NodeAddr=127.0.0.1 NodeHostName=localhost Version=22.05.8 OS=Linux "
    "6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=24105 AllocMem=0 FreeMem=23608 "
    "Sockets=36 Boards=1 State=MIXED+DRAIN ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A "
    "MCS_label=N/A Partitions=batch,gpu  BootTime=2026-11-23T18:04:28 "
    "SlurmdStartTime=2026-11-23T18:51:19 LastBusyTime=2026-11-23T18:53:37 "
    "CfgTRES=cpu=36,mem=24105M,billing=36 AllocTRES=cpu=1 CapWatts=n/a CurrentWatts=0 AveWatts=0 "
    "ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s Reason=cpnet-test "
    "[root@2026-11-23T18:57:20]";
/* PART */
static const char part_0[] =
    "PartitionName=batch AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES "
    "QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO "
    "MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=32 Nodes=localhost "
    "PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE "
    "PreemptMode=OFF State=UP TotalCPUs=36 TotalNodes=1 SelectTypeParameters=NONE "
    "JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED "
    "TRES=cpu=36,mem=24105M,node=1,billing=36";
static const char part_1[] =
    "PartitionName=gpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO "
    "QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO "
    "MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED "
    "Nodes=localhost PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO "
    "OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=36 TotalNodes=1 "
    "SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED "
    "TRES=cpu=36,mem=24105M,node=1,billing=36";
/* JOBCOMP */
static const char jobcomp_0[] =
    "JobId=7 UserId=root(0) GroupId=root(0) Name=cpnet-job_f3 JobState=FAILED Partition=batch "
    "TimeLimit=1 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T18:57:16 NodeList=localhost "
    "NodeCnt=1 ProcCnt=1 WorkDir=/work/main ReservationName= "
    "Tres=cpu=1,mem=24105M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 DerivedExitCode=0:0 "
    "ExitCode=3:0 ";
static const char jobcomp_1[] =
    "JobId=6 UserId=root(0) GroupId=root(0) Name=cpnet-job_a1 JobState=COMPLETED Partition=batch "
    "TimeLimit=1 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T18:57:17 NodeList=localhost "
    "NodeCnt=1 ProcCnt=2 WorkDir=/work/main ReservationName= "
    "Tres=cpu=2,mem=24105M,node=1,billing=2 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 DerivedExitCode=0:0 "
    "ExitCode=0:0 ";
static const char jobcomp_2[] =
    "JobId=10 UserId=root(0) GroupId=root(0) Name=cpnet-job_k1 JobState=CANCELLED Partition=batch "
    "TimeLimit=5 StartTime=2026-11-23T18:57:16 EndTime=2026-11-23T18:57:19 NodeList=localhost "
    "NodeCnt=1 ProcCnt=1 WorkDir=/work/main ReservationName= "
    "Tres=cpu=1,mem=24105M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-11-23T18:57:16 EligibleTime=2026-11-23T18:57:16 DerivedExitCode=0:0 "
    "ExitCode=0:0 ";

/* the first node line seen, before any job ran, without -d (no GresUsed=) */
static const char node_idle[] =
    "NodeName=localhost Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=32 CPUTot=32 "
    "CPULoad=1.58 AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:t4:4 NodeAddr=127.0.0.1 "
    "NodeHostName=localhost Version=22.05.8 OS=Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  "
    "RealMemory=24105 AllocMem=0 FreeMem=23327 Sockets=32 Boards=1 State=IDLE ThreadsPerCore=1 "
    "TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=batch,gpu  BootTime=2026-11-23T18:04:28 "
    "SlurmdStartTime=2026-11-23T18:47:11 LastBusyTime=2026-11-23T18:47:12 "
    "CfgTRES=cpu=32,mem=24105M,billing=32 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 "
    "ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s";

#define T0 1795460236 /* 2026-11-23T18:57:16Z */

static void test_kv(void)
{
    static const struct {
        const char *line, *key, *want; /* want NULL: absent */
    } cases[] = {
        { job_0, "JobId", "6" },
        { job_0, "JobName", "cpnet-job_a1" },
        { job_0, "Comment", "job_a1" }, /* followed by two blanks */
        { job_0, "Name", NULL },        /* only JobName=, ReservationName= and such */
        { job_0, "Power", "" },         /* empty value at the end */
        { job_0, "TRES", "cpu=2,node=1,billing=2" },
        { job_0, "AllocNode:Sid", "localhost:24546" },
        { job_0, "CPUs/Task", "1" },
        { node_idle, "OS", "Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0" },
        { node_idle, "AllocTRES", "" },
        { node_idle, "State", "IDLE" },
        { node_1, "Reason", "cpnet-test [root@2026-11-23T18:57:20]" },
        { node_1, "Gres", "gpu:t4:4" },
        { node_1, "GresUsed", "gpu:t4:2(IDX:0-1)" },
        { jobcomp_0, "ExitCode", "3:0" }, /* not DerivedExitCode=0:0 */
        { jobcomp_0, "Name", "cpnet-job_f3" },
        { squeue_9, "JobId", NULL },
        { "", "JobId", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char v[128] = "untouched";
        int r = agt_slurm_kv(cases[i].line, cases[i].key, v, sizeof v);
        CHECK_MSG(r == (cases[i].want != NULL), "case %zu (%s): found %d", i, cases[i].key, r);
        if (cases[i].want)
            CHECK_STR(v, cases[i].want);
    }
    {
        char small[4];
        CHECK_INT(agt_slurm_kv(job_0, "JobName", small, sizeof small), 1);
        CHECK_STR(small, "cpn"); /* truncated, terminated */
    }
}

static void test_time(void)
{
    CHECK_INT(agt_slurm_time("2026-11-23T18:57:16"), T0);
    CHECK_INT(agt_slurm_time("Unknown"), 0);
    CHECK_INT(agt_slurm_time("N/A"), 0);
    CHECK_INT(agt_slurm_time("None"), 0);
    CHECK_INT(agt_slurm_time(""), 0);
    CHECK_INT(agt_slurm_time("12345"), 0);
    CHECK_INT(agt_slurm_time("2026-13-45T99:00:00"), 0);
}

static void test_sbatch(void)
{
    static const struct {
        const char *out, *want; /* want NULL: CPN_EPARSE */
    } cases[] = {
        { "6\n", "6" },
        { "123;cpnci\n", "123" }, /* the form with a cluster name (federation, -M) */
        { "  42\n", "42" },
        { "Submitted batch job 42\n", NULL }, /* without --parsable */
        { "", NULL },
        { "abc\n77\n", "77" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[32] = "";
        struct cpn_error e = { 0 };
        int rc = agt_slurm_parse_sbatch(cases[i].out, id, sizeof id, &e);
        if (cases[i].want) {
            CHECK_MSG(rc == 0, "case %zu: rc %d: %s", i, rc, e.msg);
            CHECK_STR(id, cases[i].want);
        } else {
            CHECK_INT(rc, CPN_EPARSE);
            CHECK_CONTAINS(e.msg, "expected a job id");
        }
    }
    {
        char id[3];
        struct cpn_error e = { 0 };
        CHECK_INT(agt_slurm_parse_sbatch("12345\n", id, sizeof id, &e), CPN_ELIMIT);
    }
}

static void test_squeue(void)
{
    static const struct {
        const char *line, *id, *name, *state, *reason;
        int64_t start, end;
        enum cpn_task_state ts;
        bool final;
    } cases[] = {
        /* cancelled while waiting for the begin time: Slurm sets start = end = the cancel */
        { squeue_0, "2", "cpnet-r1", "CANCELLED", "BeginTime", T0 - 331, T0 - 331,
          CPN_TASK_CANCELLED, true },
        { squeue_1, "3", "cpnet-r2", "CANCELLED", "BeginTime", T0 - 291, T0 - 291,
          CPN_TASK_CANCELLED, true },
        { squeue_2, "4", "cpnet-r3", "CANCELLED", "None", T0 - 237, T0 - 229, CPN_TASK_CANCELLED,
          true },
        { squeue_3, "5", "cpnet-r4", "CANCELLED", "None", T0 - 224, T0 - 219, CPN_TASK_CANCELLED,
          true },
        { squeue_5, "1", "cpnet-c1", "COMPLETED", "None", T0 - 354, T0 - 353, CPN_TASK_COMPLETED,
          true },
        { squeue_6, "6", "cpnet-job_a1", "COMPLETED", "None", T0, T0 + 1, CPN_TASK_COMPLETED,
          true },
        { squeue_7, "7", "cpnet-job_f3", "FAILED", "NonZeroExitCode", T0, T0, CPN_TASK_FAILED,
          true },
        { squeue_4, "10", "cpnet-job_k1", "CANCELLED", "None", T0, T0 + 3, CPN_TASK_CANCELLED,
          true },
        { squeue_8, "9", "cpnet-job_b9", "PENDING", "BeginTime", T0 + 3600, T0 + 3600 + 300,
          CPN_TASK_PENDING, false },
        { squeue_9, "11", "cpnet-job_s1", "PENDING", "job requeued in held state", T0 + 124,
          T0 + 424, CPN_TASK_PENDING, false },
        { squeue_10, "8", "cpnet-job_g2", "RUNNING", "None", T0, T0 + 300, CPN_TASK_RUNNING,
          false },
        { "2|cpnet-c1|PENDING|N/A|N/A|PartitionConfig", "2", "cpnet-c1", "PENDING",
          "PartitionConfig", 0, 0, CPN_TASK_PENDING, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        bool fin = !cases[i].final;
        CHECK_MSG(agt_slurm_parse_squeue(cases[i].line, false, &j, &e) == 0, "case %zu: %s", i,
                  e.msg);
        CHECK_STR(j.id, cases[i].id);
        CHECK_STR(j.name, cases[i].name);
        CHECK_STR(j.state, cases[i].state);
        CHECK_STR(j.reason, cases[i].reason);
        CHECK_INT(j.start_s, cases[i].start);
        CHECK_INT(j.end_s, cases[i].end);
        CHECK_INT(agt_slurm_state(j.state, &fin), cases[i].ts);
        CHECK_INT(fin, cases[i].final);
    }
    {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        CHECK_INT(agt_slurm_parse_squeue("6|cpnet-x|RUNNING", false, &j, &e), CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "3 fields, expected 6");
        CHECK_INT(agt_slurm_parse_squeue("|cpnet-x||||", false, &j, &e), CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "empty job id or state");
        /* a reason with '|' in it stays whole: it is the last field */
        CHECK_INT(agt_slurm_parse_squeue("5|n|PENDING|N/A|N/A|a|b\n", false, &j, &e), 0);
        CHECK_STR(j.reason, "a|b");
    }
}

/* squeue -h -t all -O AGT_SLURM_SQUEUE_O, captured the same day (job 303 scancelled while
 * running, 301 "exit 3", 305 requeued in held state, 306 asked for more CPUs than the partition
 * allows, 302 with a name longer than -O's default field width) */
static void test_squeue_o(void)
{
    static const struct {
        const char *line, *id, *name, *state, *reason;
        int64_t start, end;
        int exit_status, exit_sig;
    } cases[] = {
        { "303|cpnet-k|CANCELLED|2026-11-23T19:06:28|2026-11-23T19:06:29|15|None|", "303",
          "cpnet-k", "CANCELLED", "None", T0 + 552, T0 + 553, 0, 15 },
        { "301|cpnet-e3|FAILED|2026-11-23T19:06:22|2026-11-23T19:06:22|768|NonZeroExitCode|", "301",
          "cpnet-e3", "FAILED", "NonZeroExitCode", T0 + 546, T0 + 546, 3, 0 },
        { "1|cpnet-x1|COMPLETED|2026-11-23T19:06:07|2026-11-23T19:06:07|0|None|", "1", "cpnet-x1",
          "COMPLETED", "None", T0 + 531, T0 + 531, 0, 0 },
        { "302|cpnet-job_01M84WXQMM000DX3RBN9YVK13Y-very-long-name-indeed|PENDING|"
          "2026-11-23T19:23:07|NONE|0|BeginTime|",
          "302", "cpnet-job_01M84WXQMM000DX3RBN9YVK13Y-very-long-name-indeed", "PENDING",
          "BeginTime", T0 + 1551, 0, 0, 0 },
        { "305|cpnet-rq1|PENDING|2026-11-23T19:08:49|NONE|0|job requeued in held state|", "305",
          "cpnet-rq1", "PENDING", "job requeued in held state", T0 + 693, 0, 0, 0 },
        { "306|cpnet-big|PENDING|N/A|N/A|0|PartitionConfig|", "306", "cpnet-big", "PENDING",
          "PartitionConfig", 0, 0, 0, 0 },
        { "304|cpnet-run1|RUNNING|2026-11-23T19:06:47|2027-11-23T19:06:47|0|None|\n", "304",
          "cpnet-run1", "RUNNING", "None", T0 + 571, T0 + 571 + 365 * 86400, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        CHECK_MSG(agt_slurm_parse_squeue(cases[i].line, true, &j, &e) == 0, "case %zu: %s", i,
                  e.msg);
        CHECK_STR(j.id, cases[i].id);
        CHECK_STR(j.name, cases[i].name);
        CHECK_STR(j.state, cases[i].state);
        CHECK_STR(j.reason, cases[i].reason);
        CHECK_INT(j.start_s, cases[i].start);
        CHECK_INT(j.end_s, cases[i].end);
        CHECK(j.has_exit);
        CHECK_INT(j.exit_status, cases[i].exit_status);
        CHECK_INT(j.exit_sig, cases[i].exit_sig);
    }
    {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        /* a -o line is one field short for -O */
        CHECK_INT(agt_slurm_parse_squeue(squeue_7, true, &j, &e), CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "6 fields, expected 7");
        CHECK_INT(agt_slurm_parse_squeue("7|cpnet-x|FAILED|N/A|N/A|x|None|", true, &j, &e),
                  CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "exit_code 'x': expected a wait status >= 0");
        CHECK_INT(agt_slurm_parse_squeue("7|cpnet-x|FAILED|N/A|N/A|-1|None|", true, &j, &e),
                  CPN_EPARSE);
    }
}

static void test_job(void)
{
    static const struct {
        const char *line, *id, *name, *comment, *state, *reason, *partition;
        int exit_status, exit_sig;
        int64_t start, end, cpus;
        int restarts;
    } cases[] = {
        { job_0, "6", "cpnet-job_a1", "job_a1", "COMPLETED", "None", "batch", 0, 0, T0, T0 + 1, 2,
          0 },
        { job_1, "7", "cpnet-job_f3", "job_f3", "FAILED", "NonZeroExitCode", "batch", 3, 0, T0, T0,
          1, 0 },
        { job_2, "8", "cpnet-job_g2", "job_g2", "RUNNING", "None", "gpu", 0, 0, T0, T0 + 300, 1,
          0 },
        { job_3, "9", "cpnet-job_b9", "job_b9", "PENDING", "BeginTime", "batch", 0, 0, T0 + 3600,
          T0 + 3900, 4, 0 },
        { job_4, "10", "cpnet-job_k1", "job_k1", "CANCELLED", "None", "batch", 0, 15, T0, T0 + 3, 1,
          0 },
        { job_5, "11", "cpnet-job_s1", "job_s1", "PENDING", "job_requeued_in_held_state", "batch",
          0, 0, T0 + 124, T0 + 424, 1, 1 },
        /* jobcomp/filetxt: Name=, ProcCnt=, no Comment= or Reason= */
        { jobcomp_0, "7", "cpnet-job_f3", "", "FAILED", "", "batch", 3, 0, T0, T0, 1, 0 },
        { jobcomp_1, "6", "cpnet-job_a1", "", "COMPLETED", "", "batch", 0, 0, T0, T0 + 1, 2, 0 },
        { jobcomp_2, "10", "cpnet-job_k1", "", "CANCELLED", "", "batch", 0, 0, T0, T0 + 3, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        CHECK_MSG(agt_slurm_parse_job(cases[i].line, &j, &e) == 0, "case %zu: %s", i, e.msg);
        CHECK_STR(j.id, cases[i].id);
        CHECK_STR(j.name, cases[i].name);
        CHECK_STR(j.comment, cases[i].comment);
        CHECK_STR(j.state, cases[i].state);
        CHECK_STR(j.reason, cases[i].reason);
        CHECK_STR(j.partition, cases[i].partition);
        CHECK(j.has_exit);
        CHECK_INT(j.exit_status, cases[i].exit_status);
        CHECK_INT(j.exit_sig, cases[i].exit_sig);
        CHECK_INT(j.start_s, cases[i].start);
        CHECK_INT(j.end_s, cases[i].end);
        CHECK_INT(j.cpus, cases[i].cpus);
        CHECK_INT(j.restarts, cases[i].restarts);
    }
    {
        struct agt_slurm_job j;
        struct cpn_error e = { 0 };
        CHECK_INT(agt_slurm_parse_job("slurm_load_jobs error: Invalid job id specified", &j, &e),
                  CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "no JobId=");
        CHECK_INT(agt_slurm_parse_job("JobId=5 JobName=x", &j, &e), CPN_EPARSE);
        CHECK_CONTAINS(e.msg, "Slurm job 5: no JobState=");
        CHECK_INT(agt_slurm_parse_job("JobId=5 JobState=RUNNING ExitCode=x:y", &j, &e), 0);
        CHECK(!j.has_exit);
    }
}

static void test_states(void)
{
    static const struct {
        const char *word;
        enum cpn_task_state ts;
        bool final;
    } cases[] = {
        { "PENDING", CPN_TASK_PENDING, false },
        { "CONFIGURING", CPN_TASK_PENDING, false },
        { "REQUEUE_HOLD", CPN_TASK_PENDING, false },
        { "RUNNING", CPN_TASK_RUNNING, false },
        { "COMPLETING", CPN_TASK_RUNNING, false }, /* the exit code is not known yet */
        { "SUSPENDED", CPN_TASK_RUNNING, false },
        { "COMPLETED", CPN_TASK_COMPLETED, true },
        { "CANCELLED", CPN_TASK_CANCELLED, true },
        { "CANCELLED by 0", CPN_TASK_CANCELLED, true }, /* sacct's form */
        { "CANCELLED+", CPN_TASK_CANCELLED, true },
        { "FAILED", CPN_TASK_FAILED, true },
        { "TIMEOUT", CPN_TASK_FAILED, true },
        { "NODE_FAIL", CPN_TASK_FAILED, true },
        { "OUT_OF_MEMORY", CPN_TASK_FAILED, true },
        { "PREEMPTED", CPN_TASK_FAILED, true },
        { "DEADLINE", CPN_TASK_FAILED, true },
        { "", CPN_TASK_PENDING, false },
        { "SOMETHING_NEW", CPN_TASK_PENDING, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool fin = !cases[i].final;
        CHECK_MSG(agt_slurm_state(cases[i].word, &fin) == cases[i].ts, "case %zu (%s)", i,
                  cases[i].word);
        CHECK_MSG(fin == cases[i].final, "case %zu (%s): final %d", i, cases[i].word, fin);
    }
    CHECK_INT(agt_slurm_state("RUNNING", NULL), CPN_TASK_RUNNING);
}

static void test_gres(void)
{
    static const struct {
        const char *gres, *type;
        int64_t gpus;
    } cases[] = {
        { "gpu:t4:4", "t4", 4 },
        { "gpu:t4:2(IDX:0-1)", "t4", 2 },
        { "gpu:t4:2(IDX:0,2)", "t4", 2 }, /* a comma inside the index list */
        { "gpu:4(S:0-1)", "", 4 },
        { "gpu:a100:2,gpu:t4:2,shard:8", "a100", 4 },
        { "shard:8,gpu:h800:8(S:0-1)", "h800", 8 },
        { "gres/gpu:a100=3", "a100", 3 }, /* TRES form */
        { "gpu:t4", "t4", 1 },
        { "gpu", "", 1 },
        { "mps:100", "", 0 },
        { "(null)", "", 0 },
        { "", "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char type[32] = "x";
        CHECK_MSG(agt_slurm_gres_gpus(cases[i].gres, type, sizeof type) == cases[i].gpus,
                  "case %zu (%s)", i, cases[i].gres);
        CHECK_STR(type, cases[i].type);
    }
    CHECK_INT(agt_slurm_gres_gpus(NULL, NULL, 0), 0);
}

static void test_node_part(void)
{
    struct agt_slurm_node n;
    struct agt_slurm_part p;
    struct cpn_error e = { 0 };
    CHECK_INT(agt_slurm_parse_node(node_idle, &n, &e), 0);
    CHECK_STR(n.name, "localhost");
    CHECK_STR(n.partitions, "batch,gpu");
    CHECK_INT(n.cpus, 32);
    CHECK_INT(n.cpus_alloc, 0);
    CHECK_INT(n.gpus, 4);
    CHECK_STR(n.gpu_type, "t4");
    CHECK_INT(n.gpus_used, 0);
    CHECK(n.usable);
    CHECK_INT(agt_slurm_parse_node(node_0, &n, &e), 0); /* MIXED, 2 GPUs in use */
    CHECK_INT(n.cpus, 36);
    CHECK_INT(n.cpus_alloc, 1);
    CHECK_INT(n.gpus_used, 2);
    CHECK(n.usable);
    CHECK_INT(agt_slurm_parse_node(node_1, &n, &e), 0); /* MIXED+DRAIN */
    CHECK(!n.usable);
    static const char *const unusable[] = {
        "DOWN*",  "IDLE*",  "IDLE+DRAIN",          "DOWN+NOT_RESPONDING",
        "INVAL",  "FUTURE", "IDLE+MAINT+RESERVED", "IDLE+REBOOT_ISSUED",
        "UNKNOWN"
    };
    for (size_t i = 0; i < sizeof unusable / sizeof unusable[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "NodeName=n1 CPUTot=8 State=%s Partitions=p", unusable[i]);
        CHECK_INT(agt_slurm_parse_node(line, &n, &e), 0);
        CHECK_MSG(!n.usable, "state %s counted as usable", unusable[i]);
        CHECK_INT(n.cpus, 8); /* CPUTot when there is no CPUEfctv (before 22.05) */
    }
    CHECK_INT(agt_slurm_parse_node("NodeName=n1 State=ALLOCATED+PLANNED", &n, &e), 0);
    CHECK(n.usable);
    CHECK_INT(agt_slurm_parse_node("Node n1 not found", &n, &e), CPN_EPARSE);
    CHECK_CONTAINS(e.msg, "no NodeName=");
    CHECK_INT(agt_slurm_parse_node("NodeName=n1 CPUTot=-4", &n, &e), CPN_EPARSE);

    CHECK_INT(agt_slurm_parse_part(part_0, &p, &e), 0);
    CHECK_STR(p.name, "batch");
    CHECK_INT(p.max_cpus_per_node, 32);
    CHECK(p.is_default);
    CHECK(p.up);
    CHECK_INT(agt_slurm_parse_part(part_1, &p, &e), 0);
    CHECK_STR(p.name, "gpu");
    CHECK_INT(p.max_cpus_per_node, 0); /* UNLIMITED */
    CHECK(!p.is_default);
    CHECK_INT(agt_slurm_parse_part("PartitionName= Default=YES", &p, &e), CPN_EPARSE);
}

static void test_pools_captured(void)
{
    struct agt_slurm_node nodes[1];
    struct agt_slurm_part parts[2];
    struct cpn_agent_pool pools[2];
    struct cpn_error e = { 0 };
    size_t n = 0;
    CHECK_INT(agt_slurm_parse_node(node_0, &nodes[0], &e), 0);
    CHECK_INT(agt_slurm_parse_part(part_0, &parts[0], &e), 0);
    CHECK_INT(agt_slurm_parse_part(part_1, &parts[1], &e), 0);
    CHECK_INT(agt_slurm_pools(nodes, 1, parts, 2, pools, 2, &n, &e), 0);
    CHECK_INT(n, 2);
    /* batch shares the GPU node but is capped by MaxCPUsPerNode: the CPU pool */
    CHECK_STR(pools[0].id, "batch");
    CHECK_STR(pools[0].partition, "batch");
    CHECK_INT(pools[0].cls, CPN_CLASS_GENERAL);
    CHECK_INT(pools[0].total, 32);
    CHECK_INT(pools[0].available, 32); /* 35 idle CPUs, at most 32 for batch */
    CHECK_STR(pools[1].id, "gpu");
    CHECK_INT(pools[1].cls, CPN_CLASS_INTELLIGENT);
    CHECK_STR(pools[1].device, "t4");
    CHECK_INT(pools[1].total, 4);
    CHECK_INT(pools[1].available, 2);
    /* drained: installed units stay, none available */
    CHECK_INT(agt_slurm_parse_node(node_1, &nodes[0], &e), 0);
    CHECK_INT(agt_slurm_pools(nodes, 1, parts, 2, pools, 2, &n, &e), 0);
    CHECK_INT(pools[0].total, 32);
    CHECK_INT(pools[0].available, 0);
    CHECK_INT(pools[1].available, 0);
    CHECK_INT(agt_slurm_pools(nodes, 1, parts, 2, pools, 1, &n, &e), CPN_ELIMIT);
}

static void test_pools_table(void)
{
    /* three partitions over four nodes: cpu (two CPU nodes, one down), a100 (GPU nodes), all */
    static const struct agt_slurm_node nodes[] = {
        { "c1", "cpu,all", "", 64, 16, 0, 0, true },
        { "c2", "cpu,all", "", 64, 0, 0, 0, false },
        { "g1", "a100,all", "a100", 32, 8, 8, 3, true },
        { "g2", "a100,all", "a100", 32, 32, 8, 8, true },
    };
    struct agt_slurm_part parts[] = {
        { "cpu", 0, true, true },      { "a100", 0, false, true },    { "all", 0, false, true },
        { "closed", 0, false, false }, { "my/part", 0, false, true },
    };
    struct cpn_agent_pool pools[8];
    struct cpn_error e = { 0 };
    size_t n = 0;
    CHECK_INT(agt_slurm_pools(nodes, 4, parts, 5, pools, 8, &n, &e), 0);
    CHECK_INT(n, 5);
    CHECK_INT(pools[0].cls, CPN_CLASS_GENERAL);
    CHECK_INT(pools[0].total, 128);
    CHECK_INT(pools[0].available, 48); /* c2 is down */
    CHECK_INT(pools[1].cls, CPN_CLASS_INTELLIGENT);
    CHECK_STR(pools[1].device, "a100");
    CHECK_INT(pools[1].total, 16);
    CHECK_INT(pools[1].available, 5);
    /* a partition over CPU and GPU nodes without MaxCPUsPerNode counts GPUs */
    CHECK_INT(pools[2].cls, CPN_CLASS_INTELLIGENT);
    CHECK_INT(pools[2].total, 16);
    CHECK_INT(pools[3].total, 0); /* no nodes */
    CHECK_INT(pools[3].available, 0);
    CHECK_STR(pools[4].id, "my-part");
    CHECK_STR(pools[4].partition, "my/part");
    /* MaxCPUsPerNode turns the GPU partition into a CPU share */
    parts[1].max_cpus_per_node = 24;
    CHECK_INT(agt_slurm_pools(nodes, 4, parts, 5, pools, 8, &n, &e), 0);
    CHECK_INT(pools[1].cls, CPN_CLASS_GENERAL);
    CHECK_INT(pools[1].total, 48);
    CHECK_INT(pools[1].available, 24); /* g1: 24 free, capped at 24; g2: none */
}

static void test_minutes(void)
{
    static const struct {
        double s;
        int64_t m;
    } cases[] = { { 0, 0 },     { -5, 0 },      { 0.5, 1 },
                  { 59, 1 },    { 60, 1 },      { 61, 2 },
                  { 3600, 60 }, { 5400.2, 91 }, { 1e300, 1000000000 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(agt_slurm_minutes(cases[i].s) == cases[i].m, "case %zu: %g s", i, cases[i].s);
}

int main(void)
{
    T_RUN(test_kv);
    T_RUN(test_time);
    T_RUN(test_sbatch);
    T_RUN(test_squeue);
    T_RUN(test_squeue_o);
    T_RUN(test_job);
    T_RUN(test_states);
    T_RUN(test_gres);
    T_RUN(test_node_part);
    T_RUN(test_pools_captured);
    T_RUN(test_pools_table);
    T_RUN(test_minutes);
    return T_DONE("slurm_parse");
}
