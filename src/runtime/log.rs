//! Logging through tracing in redis-server's line format:
//! `pid:M 30 Nov 2026 02:24:47.123 * message`, levels named as Redis's loglevel.

use std::fmt;
use std::io::Write;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct RedisFormat {
    pid: u32,
    role: char,
}

fn timestamp() -> String {
    let now = crate::util::now_ms();
    let secs = (now / 1000) as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    let mut buf = [0u8; 64];
    let fmt = b"%d %b %Y %H:%M:%S\0";
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            fmt.as_ptr() as *const libc::c_char,
            &tm,
        )
    };
    format!("{}.{:03}", String::from_utf8_lossy(&buf[..n]), now % 1000)
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let c = match *event.metadata().level() {
            Level::TRACE | Level::DEBUG => '.',
            Level::INFO => '*',
            Level::WARN | Level::ERROR => '#',
        };
        write!(w, "{}:{} {} {} ", self.pid, self.role, timestamp(), c)?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Map Redis's loglevel names to a tracing level.
pub fn level_of(loglevel: &str) -> Option<Level> {
    match loglevel {
        "debug" => Some(Level::TRACE),
        "verbose" => Some(Level::DEBUG),
        "notice" => Some(Level::INFO),
        "warning" => Some(Level::WARN),
        _ => None, // "nothing"
    }
}

/// Install the subscriber: stdout when `logfile` is empty, else append to the file.
pub fn init(loglevel: &str, logfile: &str) -> Result<(), String> {
    let level = level_of(loglevel);
    let format = RedisFormat {
        pid: std::process::id(),
        role: 'M',
    };
    let max = level
        .map(tracing_subscriber::filter::LevelFilter::from_level)
        .unwrap_or(tracing_subscriber::filter::LevelFilter::OFF);
    if logfile.is_empty() {
        let sub = tracing_subscriber::fmt()
            .event_format(format)
            .with_max_level(max)
            .with_writer(LineStdout)
            .finish();
        tracing::subscriber::set_global_default(sub).map_err(|e| e.to_string())
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        let file = std::sync::Mutex::new(file);
        let sub = tracing_subscriber::fmt()
            .event_format(format)
            .with_max_level(max)
            .with_writer(file)
            .finish();
        tracing::subscriber::set_global_default(sub).map_err(|e| e.to_string())
    }
}

/// Stdout, flushed per event so a reader (tests, supervisors) sees each line at once.
struct LineStdout;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineStdout {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
