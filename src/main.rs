//! `ferrodis-server`: starts the server with a config file and/or
//! `--directive value` flags, like redis-server.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use ferrodis::config::Config;
use ferrodis::server::{self, Shared};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("ferrodis server v={}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    ferrodis::log::set_level(config.get("loglevel").unwrap_or("notice"));
    if let Some(path) = config.get("logfile").filter(|p| !p.is_empty()) {
        if let Err(e) = ferrodis::log::set_file(path) {
            eprintln!("Can't open the log file: {e}");
            std::process::exit(1);
        }
    }
    if let Some(dir) = config.get("dir").filter(|d| !d.is_empty()) {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("Can't chdir to '{dir}': {e}");
            std::process::exit(1);
        }
    }
    // One worker per core: connections run where they are accepted and a
    // command never hops threads (see ARCHITECTURE.md).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("ferrodis-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Can't start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let shared = Shared::new(config);
    if let Err(e) = runtime.block_on(server::run(shared)) {
        ferrodis::warning!("Fatal: {e}");
        std::process::exit(1);
    }
    // Don't wait for connection tasks still parked on sockets.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
}
