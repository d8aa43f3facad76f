//! The allocator's and the process's memory figures (INFO memory, MEMORY
//! STATS, the RDB `used-mem` aux field).

/// Allocator and process memory figures for INFO memory and MEMORY STATS.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryFigures {
    /// Bytes allocated by the program (jemalloc `stats.allocated`).
    pub allocated: u64,
    /// Bytes in active pages (jemalloc `stats.active`).
    pub active: u64,
    /// Bytes resident in allocator-mapped pages (jemalloc `stats.resident`).
    pub resident: u64,
    /// Resident set size of the process (`/proc/self/statm`).
    pub rss: u64,
}

/// Reads the current memory figures (refreshing jemalloc's statistics).
pub fn memory_figures() -> MemoryFigures {
    let mut m = MemoryFigures::default();
    #[cfg(not(target_env = "msvc"))]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        // Statistics are cached by jemalloc until the epoch advances.
        let _ = epoch::advance();
        m.allocated = stats::allocated::read().unwrap_or(0) as u64;
        m.active = stats::active::read().unwrap_or(0) as u64;
        m.resident = stats::resident::read().unwrap_or(0) as u64;
    }
    m.rss = process_rss();
    if m.allocated == 0 {
        // Not running on jemalloc: the RSS is the best figure there is.
        m.allocated = m.rss;
        m.active = m.rss;
        m.resident = m.rss;
    }
    m
}

/// Resident set size in bytes, from `/proc/self/statm` (0 if unavailable).
pub fn process_rss() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    // The page size is 4 KiB on every platform ferrodis targets except a few
    // arm64 kernels; read it from the auxiliary vector where possible.
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|auxv| {
            auxv.chunks_exact(16).find_map(|e| {
                let key = u64::from_ne_bytes(e[..8].try_into().ok()?);
                // AT_PAGESZ
                (key == 6).then(|| u64::from_ne_bytes(e[8..].try_into().unwrap_or([0; 8])))
            })
        })
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_read() {
        assert!(super::process_rss() > 0);
    }
}
