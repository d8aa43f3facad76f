//! How much CPU the machine has to spare: the host's idle time, bounded by
//! the CPU quota of the container the server runs in.
//!
//! Placement and polling before sleeping (see `server::Workers` and
//! `idle_poll`) only spend a core that would otherwise be idle. On a host
//! that is the idle time in `/proc/stat`; inside a container with a CPU
//! quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`), the host may be idle
//! while the container has used its whole quota, and any more work there is
//! throttled. So the spare time is the smaller of the two.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the server's cgroup keeps its CPU quota and usage.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CgroupFiles {
    /// cgroup v2: `cpu.max` (quota and period) and `cpu.stat` (usage_usec).
    V2 { dir: PathBuf },
    /// cgroup v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` in the cpu
    /// controller's directory, `cpuacct.usage` (ns) in cpuacct's.
    V1 { cpu: PathBuf, cpuacct: PathBuf },
}

/// The CPU quota of the server's cgroup, if it has one.
#[derive(Clone, Debug)]
pub struct CpuQuota {
    files: CgroupFiles,
}

impl CpuQuota {
    /// Finds the cgroup of this process (from `/proc/self/cgroup`) and
    /// returns it if it sets a CPU quota.
    pub fn detect() -> Option<CpuQuota> {
        let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let files = cgroup_files(&membership, Path::new("/sys/fs/cgroup"))?;
        let quota = CpuQuota { files };
        quota.limit_permille().map(|_| quota)
    }

    /// The quota in per mille of a core (1500 for one and a half cores);
    /// `None` when unlimited or unreadable.
    pub fn limit_permille(&self) -> Option<u64> {
        match &self.files {
            CgroupFiles::V2 { dir } => {
                parse_cpu_max(&std::fs::read_to_string(dir.join("cpu.max")).ok()?)
            }
            CgroupFiles::V1 { cpu, .. } => {
                let quota = std::fs::read_to_string(cpu.join("cpu.cfs_quota_us")).ok()?;
                let period = std::fs::read_to_string(cpu.join("cpu.cfs_period_us")).ok()?;
                quota_permille(quota.trim(), period.trim())
            }
        }
    }

    /// CPU time the cgroup has used, in nanoseconds.
    pub fn usage_ns(&self) -> Option<u64> {
        match &self.files {
            CgroupFiles::V2 { dir } => {
                parse_usage_usec(&std::fs::read_to_string(dir.join("cpu.stat")).ok()?)
                    .map(|us| us.saturating_mul(1000))
            }
            CgroupFiles::V1 { cpuacct, .. } => {
                std::fs::read_to_string(cpuacct.join("cpuacct.usage"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()
            }
        }
    }
}

/// The cgroup directories named by `membership` (the text of
/// `/proc/self/cgroup`) under `root`: the v1 cpu controller's when there is
/// one, else the v2 unified hierarchy's.
fn cgroup_files(membership: &str, root: &Path) -> Option<CgroupFiles> {
    let mut v1_cpu = None;
    let mut v1_cpuacct = None;
    let mut v2 = None;
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            v2 = Some(root.join(relative));
            continue;
        }
        let list: Vec<&str> = controllers.split(',').collect();
        if list.contains(&"cpu") || list.contains(&"cpuacct") {
            // v1 mounts a controller set under its comma-joined name
            // (often also linked as each single name).
            let dir = root.join(controllers).join(relative);
            if list.contains(&"cpu") {
                v1_cpu = Some(dir.clone());
            }
            if list.contains(&"cpuacct") {
                v1_cpuacct = Some(dir);
            }
        }
    }
    match (v1_cpu, v1_cpuacct) {
        (Some(cpu), Some(cpuacct)) => Some(CgroupFiles::V1 { cpu, cpuacct }),
        _ => v2.map(|dir| CgroupFiles::V2 { dir }),
    }
}

/// Per mille of a core from a v2 `cpu.max` line (`"max 100000"` means
/// unlimited).
fn parse_cpu_max(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let quota = words.next()?;
    let period = words.next().unwrap_or("100000");
    quota_permille(quota, period)
}

/// Per mille of a core for `quota` µs of CPU per `period` µs; `None` for
/// no limit (`max`, or v1's `-1`).
fn quota_permille(quota: &str, period: &str) -> Option<u64> {
    let quota: i64 = quota.parse().ok()?;
    let period: i64 = period.parse().ok()?;
    (quota > 0 && period > 0).then(|| (quota as u64 * 1000) / period as u64)
}

/// `usage_usec` from a v2 `cpu.stat`.
fn parse_usage_usec(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// One reading of the counters [`spare_permille`] compares.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    at: Instant,
    /// Host CPU ticks, all and idle (`/proc/stat`).
    host_total: u64,
    host_idle: u64,
    /// The cgroup's CPU time used, when it has a quota.
    cgroup_used_ns: Option<u64>,
}

impl CpuSample {
    /// Reads the host's counters and, with a quota, the cgroup's usage.
    /// `None` where there is no `/proc/stat`.
    pub fn read(quota: Option<&CpuQuota>) -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (host_total, host_idle) = parse_proc_stat(&stat)?;
        Some(CpuSample {
            at: Instant::now(),
            host_total,
            host_idle,
            cgroup_used_ns: quota.and_then(CpuQuota::usage_ns),
        })
    }
}

/// Total and idle (idle + iowait) ticks from the first line of
/// `/proc/stat`.
fn parse_proc_stat(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((ticks.iter().take(8).sum(), idle))
}

/// The host's online CPUs (not the quota-rounded count
/// `available_parallelism` gives, since `/proc/stat` counts them all).
pub fn host_cpus() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as u64
}

/// CPU left unused between two samples, in per mille of a core: the host's
/// idle time, or what the cgroup's quota left unused if that is less.
pub fn spare_permille(
    before: &CpuSample,
    now: &CpuSample,
    host_cpus: u64,
    quota_permille: Option<u64>,
) -> u64 {
    let total = now.host_total.saturating_sub(before.host_total).max(1);
    let idle = now.host_idle.saturating_sub(before.host_idle);
    let host = idle * 1000 * host_cpus / total;
    let cgroup = match (quota_permille, before.cgroup_used_ns, now.cgroup_used_ns) {
        (Some(limit), Some(a), Some(b)) => {
            let elapsed = now
                .at
                .saturating_duration_since(before.at)
                .as_nanos()
                .max(1) as u64;
            let used = b.saturating_sub(a).saturating_mul(1000) / elapsed;
            limit.saturating_sub(used)
        }
        _ => u64::MAX,
    };
    host.min(cgroup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quotas_parse_as_per_mille_of_a_core() {
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1500));
        assert_eq!(parse_cpu_max("50000 100000"), Some(500));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(quota_permille("-1", "100000"), None);
        assert_eq!(quota_permille("200000", "100000"), Some(2000));
        assert_eq!(
            parse_usage_usec("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n"),
            Some(1234)
        );
    }

    #[test]
    fn the_cgroup_directories_come_from_proc_self_cgroup() {
        let root = Path::new("/sys/fs/cgroup");
        assert_eq!(
            cgroup_files("0::/system.slice/x.service\n", root),
            Some(CgroupFiles::V2 {
                dir: root.join("system.slice/x.service")
            })
        );
        let v1 = "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n0::/\n";
        assert_eq!(
            cgroup_files(v1, root),
            Some(CgroupFiles::V1 {
                cpu: root.join("cpu,cpuacct/docker/abc"),
                cpuacct: root.join("cpu,cpuacct/docker/abc"),
            })
        );
        let split = "2:cpuacct:/\n1:cpu:/\n0::/\n";
        assert_eq!(
            cgroup_files(split, root),
            Some(CgroupFiles::V1 {
                cpu: root.join("cpu"),
                cpuacct: root.join("cpuacct"),
            })
        );
    }

    #[test]
    fn spare_time_is_the_host_idle_time_bounded_by_the_quota() {
        let at = Instant::now();
        let sample = |total, idle, used_ms: Option<u64>, after_ms| CpuSample {
            at: at + Duration::from_millis(after_ms),
            host_total: total,
            host_idle: idle,
            cgroup_used_ns: used_ms.map(|ms| ms * 1_000_000),
        };
        // Two host cores, 100 ticks each over the interval, 150 of them idle:
        // one and a half cores spare on the host.
        let a = sample(0, 0, Some(0), 0);
        let b = sample(200, 150, Some(400), 1000);
        assert_eq!(spare_permille(&a, &b, 2, None), 1500);
        // A quota of one core with 0.4 core used leaves 0.6 of a core.
        assert_eq!(spare_permille(&a, &b, 2, Some(1000)), 600);
        // A generous quota leaves the host's figure.
        assert_eq!(spare_permille(&a, &b, 2, Some(4000)), 1500);
        // Used beyond the quota (throttling lags): nothing spare.
        let c = sample(200, 150, Some(1200), 1000);
        assert_eq!(spare_permille(&a, &c, 2, Some(1000)), 0);
    }

    #[test]
    fn proc_stat_gives_total_and_idle_ticks() {
        let stat = "cpu  10 2 30 400 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1 1\n";
        assert_eq!(parse_proc_stat(stat), Some((468, 405)));
    }
}
