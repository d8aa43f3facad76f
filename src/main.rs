//! `ferrodis-server`: starts the server with a config file and/or
//! `--directive value` flags, like redis-server.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use ferrodis::config::Config;
use ferrodis::server;
use ferrodis::state::Shared;

fn main() {
    // A bug is a crash with a report, never a server that goes on.
    ferrodis::crash::install();
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
    // One connection worker per core (see ARCHITECTURE.md); the main thread
    // accepts connections and runs the periodic task.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|rt| Ok((rt, server::Workers::start(workers)?)));
    let (runtime, workers) = match started {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("Can't start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let shared = Shared::new(config);
    if let Err(e) = runtime.block_on(server::run(shared, workers)) {
        ferrodis::warning!("Fatal: {e}");
        std::process::exit(1);
    }
    // Don't wait for connection tasks still parked on sockets.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
}
