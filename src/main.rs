//! `tessera-server [config-file] [--directive value ...]`, like redis-server.

use clap::Parser;

#[global_allocator]
static GLOBAL: tessera::alloc::CountingAlloc = tessera::alloc::CountingAlloc;

#[derive(Parser, Debug)]
#[command(
    name = "tessera-server",
    version,
    about = "A Redis-compatible, thread-per-core in-memory data server"
)]
struct Cli {
    /// An optional config file (redis.conf syntax; `-` reads stdin), then
    /// `--directive value ...` pairs applied after it.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    let (file, rest) = match cli.args.first() {
        Some(f) if f == "-" || !f.starts_with("--") => (Some(f.as_str()), &cli.args[1..]),
        _ => (None, &cli.args[..]),
    };
    let cfg = match tessera::config::Config::load(file, rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n{e}");
            std::process::exit(1);
        }
    };
    // Like redis-server: relative paths (dump file, logs) are relative to `dir`.
    if let Err(e) = std::env::set_current_dir(cfg.dir()) {
        eprintln!("Can't chdir to '{}': {e}", cfg.dir().display());
        std::process::exit(1);
    }
    if let Err(e) = tessera::runtime::log::init(cfg.loglevel(), cfg.get_str("logfile")) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    std::process::exit(tessera::runtime::run(cfg));
}
