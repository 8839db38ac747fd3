//! Loading: redis.conf syntax, units, includes, command-line options and every error
//! kind, with the texts redis-server 7.0.15 prints.

use super::*;

/// A fresh, empty directory for one test, removed when dropped.
pub(super) struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for TmpDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn tmpdir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("tessera-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    TmpDir(std::fs::canonicalize(&d).expect("canonical temp dir"))
}

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Load `text` as a config file named `t.conf` in a temp dir.
fn load_text(test: &str, text: &str, extra: &[&str]) -> Result<Config, ConfigError> {
    let dir = tmpdir(test);
    write(&dir, "t.conf", text);
    Config::load_in(&dir, Some("t.conf"), &args(extra), None)
}

fn load_ok(test: &str, text: &str) -> Config {
    match load_text(test, text, &[]) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error:\n{e}"),
    }
}

/// The error for a one-line config.
fn err_of(test: &str, text: &str) -> ConfigError {
    match load_text(test, text, &[]) {
        Ok(_) => panic!("config {text:?} should be refused"),
        Err(e) => e,
    }
}

#[test]
fn split_args_like_sdssplitargs() {
    let s = |l: &str| split_args(l).expect("balanced");
    assert_eq!(s("  a  \"b c\"  'd e' "), vec!["a", "b c", "d e"]);
    assert_eq!(
        s(r#""\x41\n\r\t\b\a\"\\\q""#),
        vec!["A\n\r\t\u{8}\u{7}\"\\q"]
    );
    assert_eq!(s(r"'it\'s' 'a\nb'"), vec!["it's", "a\\nb"]);
    assert_eq!(s(r#"foo"bar baz" x"#), vec!["foobar baz", "x"]);
    assert_eq!(s(r#""" ''"#), vec!["", ""]);
    assert_eq!(s("a\tb"), vec!["a", "b"]);
    assert_eq!(s(r#""\xZZ""#), vec!["xZZ"]);
    assert_eq!(s(""), Vec::<String>::new());
    assert_eq!(split_args(r#""abc"def"#), None);
    assert_eq!(split_args(r#""abc"#), None);
    assert_eq!(split_args("'abc"), None);
    assert_eq!(split_args("'abc'd"), None);
}

#[test]
fn repr_like_sdscatrepr() {
    assert_eq!(
        repr("a b\"c\\\n\r\t\u{7}\u{8}\u{1}"),
        r#""a b\"c\\\n\r\t\a\b\x01""#
    );
    assert_eq!(repr("é"), r#""\xc3\xa9""#);
    for s in ["plain", "with \"quotes\"", "tab\there", "\u{1}x", "é", ""] {
        assert_eq!(split_args(&repr(s)), Some(vec![s.to_string()]));
    }
}

#[test]
fn comments_blank_lines_quotes_and_case() {
    let c = load_ok(
        "basic",
        "# comment\n\n   \n  # indented comment\r\nPORT 7000\r\nrequirepass \"pa ss#word\"\n\
         MaxMemory-Policy ALLKEYS-LRU\nappendonly YES\nmasteruser 'o\\'neil'\n",
    );
    assert_eq!(c.port(), 7000);
    assert_eq!(c.requirepass(), Some("pa ss#word"));
    assert_eq!(c.maxmemory_policy(), "allkeys-lru");
    assert_eq!(c.get_str("appendonly"), "yes");
    assert!(c.get_bool("appendonly"));
    assert_eq!(c.get_str("masteruser"), "o'neil");
}

#[test]
fn memory_units() {
    for (v, want) in [
        ("100", 100u64),
        ("5b", 5),
        ("5B", 5),
        ("1k", 1000),
        ("1K", 1000),
        ("1kb", 1024),
        ("1kB", 1024),
        ("2m", 2_000_000),
        ("2mb", 2 << 20),
        ("3g", 3_000_000_000),
        ("3GB", 3 << 30),
        ("010", 10),
        ("k", 0),
        ("18446744073709551616", u64::MAX),
        ("99999999999999999999gb", 18446744072635809792),
    ] {
        let c = load_ok("units", &format!("maxmemory {v}\n"));
        assert_eq!(c.maxmemory(), want, "maxmemory {v}");
        assert_eq!(c.get_str("maxmemory"), want.to_string());
    }
    for bad in ["1x", "-1", "+5", " 5", "1.5mb", "0x10", "5 kb"] {
        let e = err_of("units_bad", &format!("maxmemory \"{bad}\"\n"));
        assert_eq!(e.message, "argument must be a memory value", "{bad}");
    }
    let c = load_ok(
        "units2",
        "client-query-buffer-limit 2gb\nproto-max-bulk-len 1mb\n",
    );
    assert_eq!(c.get_i64("client-query-buffer-limit"), 2 << 30);
    assert_eq!(c.get_i64("proto-max-bulk-len"), 1 << 20);
}

#[test]
fn repeated_directives_last_wins_or_merge() {
    let c = load_ok(
        "repeat",
        "port 1\nport 2\nbind 1.1.1.1\nbind 2.2.2.2 3.3.3.3\nsave 100 1\nsave 200 2\n\
         client-output-buffer-limit normal 1k 2k 3 pubsub 1 1 1\n\
         client-output-buffer-limit slave 2 2 2\n\
         hash-max-ziplist-entries 7\nhash-max-listpack-entries 9\n",
    );
    assert_eq!(c.port(), 2);
    assert_eq!(c.bind(), vec!["2.2.2.2", "3.3.3.3"]);
    assert_eq!(c.get_str("save"), "100 1 200 2");
    assert_eq!(c.save_params(), vec![(100, 1), (200, 2)]);
    assert_eq!(
        c.get_str("client-output-buffer-limit"),
        "normal 1000 2000 3 slave 2 2 2 pubsub 1 1 1"
    );
    assert_eq!(c.client_output_buffer_limit("replica"), Some((2, 2, 2)));
    assert_eq!(c.get_str("hash-max-ziplist-entries"), "9");
    assert_eq!(c.get_str("hash-max-listpack-entries"), "9");
}

#[test]
fn save_semantics() {
    let c = load_ok("save1", "save 100 1\nsave \"\"\nsave 5 5\n");
    assert_eq!(c.get_str("save"), "5 5");
    let c = load_ok("save2", "save 100 1\nsave\n");
    assert_eq!(c.get_str("save"), "100 1");
    let c = load_ok("save3", "save \"\"\n");
    assert_eq!(c.get_str("save"), "");
    assert!(c.save_params().is_empty());
    let c = load_ok("save4", "save 1 0 3600 1\n");
    assert_eq!(c.get_str("save"), "1 0 3600 1");
    assert_eq!(Config::default().get_str("save"), "3600 1 300 100 60 10000");
}

#[test]
fn special_values() {
    let c = load_ok(
        "special",
        "notify-keyspace-events KEA\nhz 0\nunixsocketperm 0777\nreplicaof localhost 6380\n\
         oom-score-adj-values +5 010 -0\nlatency-tracking-info-percentiles 99.9999 0.5 1e1\n\
         shutdown-on-sigint NOW force\nmaxmemory-clients 5%\noom-score-adj relative\n\
         bind \"\"\nlist-max-ziplist-entries 5\nlua-replicate-commands yes\nsentinel\n",
    );
    assert_eq!(c.get_str("notify-keyspace-events"), "AKE");
    assert_eq!(
        c.get_i64("notify-keyspace-events") as u32,
        notify::ALL | notify::KEYSPACE | notify::KEYEVENT
    );
    assert_eq!(c.hz(), 1);
    assert_eq!(c.get_str("unixsocketperm"), "777");
    assert_eq!(c.get_str("replicaof"), "localhost 6380");
    assert_eq!(c.get_str("slaveof"), "localhost 6380");
    assert_eq!(c.get_str("oom-score-adj-values"), "5 10 0");
    assert_eq!(
        c.get_str("latency-tracking-info-percentiles"),
        "99.9999 0.5 10"
    );
    assert_eq!(c.get_str("shutdown-on-sigint"), "now force");
    assert_eq!(c.get_str("maxmemory-clients"), "5%");
    assert_eq!(c.get_i64("maxmemory-clients"), -5);
    assert_eq!(c.get_str("oom-score-adj"), "yes");
    assert!(c.bind().is_empty());
    let c = load_ok(
        "special2",
        "hz 1000\nreplicaof no one\nnotify-keyspace-events gn$mKE\n",
    );
    assert_eq!(c.hz(), 500);
    assert_eq!(c.get_str("replicaof"), "");
    assert_eq!(c.get_str("notify-keyspace-events"), "g$nKEm");
}

#[test]
fn file_only_directives_are_stored() {
    let c = load_ok(
        "fileonly",
        "rename-command FLUSHALL \"\"\nrename-command CONFIG cfg\nuser alice on >pw ~* +@all\n\
         loadmodule /x/m.so a b\n",
    );
    assert_eq!(
        c.rename_commands(),
        &[
            ("FLUSHALL".to_string(), String::new()),
            ("CONFIG".to_string(), "cfg".to_string())
        ]
    );
    assert_eq!(c.users(), &[args(&["alice", "on", ">pw", "~*", "+@all"])]);
    assert_eq!(c.load_modules(), &[args(&["/x/m.so", "a", "b"])]);
    let mut u = c.unimplemented_in_use();
    u.sort();
    assert_eq!(u, vec!["loadmodule", "rename-command", "user"]);
}

#[test]
fn unimplemented_in_use_lists_only_non_defaults() {
    let c = load_ok(
        "unimpl",
        "appendonly yes\nactiverehashing yes\nport 7000\nio-threads 4\n",
    );
    assert_eq!(c.unimplemented_in_use(), vec!["appendonly", "io-threads"]);
    assert!(Config::default().unimplemented_in_use().is_empty());
}

/// (config text, line number, message) triples taken from redis-server 7.0.15.
const ERRORS: &[(&str, usize, &str)] = &[
    ("port 1\nfoo bar\n", 2, "Bad directive or wrong number of arguments"),
    ("port abc\n", 1, "argument couldn't be parsed into an integer"),
    ("port 99999\n", 1, "argument must be between 0 and 65535 inclusive"),
    ("port\n", 1, "wrong number of arguments"),
    ("port 1 2\n", 1, "wrong number of arguments"),
    ("# c\n\ndaemonize maybe\n", 3, "argument must be 'yes' or 'no'"),
    ("maxmemory 1x\n", 1, "argument must be a memory value"),
    ("maxmemory -1\n", 1, "argument must be a memory value"),
    ("maxmemory-policy foo\n", 1, "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
    ("loglevel LOUD\n", 1, "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("databases 0\n", 1, "argument must be between 1 and 2147483647 inclusive"),
    ("save 1\n", 1, "Invalid save parameters"),
    ("save a b\n", 1, "Invalid save parameters"),
    ("save 0 1\n", 1, "Invalid save parameters"),
    ("save 3600 1 \"\" \"\"\n", 1, "Invalid save parameters"),
    ("client-output-buffer-limit foo 1 2 3\n", 1, "Invalid client class specified in buffer limit configuration."),
    ("client-output-buffer-limit normal 1 2\n", 1, "Wrong number of arguments in buffer limit configuration."),
    ("client-output-buffer-limit normal 1x 2 3\n", 1, "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("client-output-buffer-limit normal 1 2 -3\n", 1, "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("notify-keyspace-events Q\n", 1, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
    ("sentinel monitor a b c\n", 1, "sentinel directive while not in sentinel mode"),
    ("rename-command a\n", 1, "Bad directive or wrong number of arguments"),
    ("include\n", 1, "Bad directive or wrong number of arguments"),
    ("loadmodule\n", 1, "Bad directive or wrong number of arguments"),
    ("lua-replicate-commands\n", 1, "Bad directive or wrong number of arguments"),
    ("port \"abc\n", 1, "Unbalanced quotes in configuration line"),
    ("shutdown-on-sigint save nosave\n", 1, "shutdown options SAVE and NOSAVE can't be used simultaneously"),
    ("shutdown-on-sigint foo\n", 1, "argument(s) must be one of the following: default, save, nosave, now, force"),
    ("unixsocketperm 999\n", 1, "argument couldn't be parsed as an octal number"),
    ("unixsocketperm 1000\n", 1, "argument must be between 0 and 777 inclusive"),
    ("oom-score-adj-values 1 2\n", 1, "wrong number of arguments"),
    ("oom-score-adj-values -2001 0 0\n", 1, "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
    ("oom-score-adj-values 1 2 a\n", 1, "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
    ("oom-score-adj foo\n", 1, "argument(s) must be one of the following: no, yes, relative, absolute"),
    ("latency-tracking-info-percentiles 101\n", 1, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
    ("latency-tracking-info-percentiles abc\n", 1, "Invalid latency-tracking-info-percentiles parameters"),
    ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", 1, "Too many bind addresses specified."),
    ("dbfilename a/b\n", 1, "dbfilename can't be a path, just a filename"),
    ("appendfilename a/b\n", 1, "appendfilename can't be a path, just a filename"),
    ("appenddirname a/b\n", 1, "appenddirname can't be a path, just a dirname"),
    ("appendfilename \"\"\n", 1, "appendfilename can't be empty"),
    ("appenddirname \"\"\n", 1, "appenddirname can't be empty"),
    ("dir /nonexistent-tessera-dir\n", 1, "No such file or directory"),
    ("dir \"\"\n", 1, "No such file or directory"),
    ("replicaof localhost abc\n", 1, "Invalid master port"),
    ("replicaof localhost 99999\n", 1, "Invalid master port"),
    ("replicaof a\n", 1, "wrong number of arguments"),
    ("proc-title-template \"{foo}\"\n", 1, "template format is invalid or contains unknown variables"),
    ("tls-port -1\n", 1, "argument must be between 0 and 65535 inclusive"),
    ("io-threads 0\n", 1, "argument must be between 1 and 128 inclusive"),
    ("maxmemory-clients 200%\n", 1, "percentage argument must be less or equal to 100"),
    ("maxmemory-clients 1x\n", 1, "argument must be a memory or percent value"),
    ("proto-max-bulk-len 1\n", 1, "argument must be between 1048576 and 9223372036854775807 inclusive"),
    ("slowlog-log-slower-than -5\n", 1, "argument must be between -1 and 9223372036854775807 inclusive"),
    ("maxclients 0\n", 1, "argument must be between 1 and 4294967295 inclusive"),
    ("cluster-announce-hostname a_b\n", 1, "Hostnames may only contain alphanumeric characters, hyphens or dots"),
    ("timeout 010\n", 1, "argument couldn't be parsed into an integer"),
    ("timeout +10\n", 1, "argument couldn't be parsed into an integer"),
    ("threads abc\n", 1, "argument couldn't be parsed into an integer"),
];

#[test]
fn every_error_kind_with_redis_texts_and_line_numbers() {
    for (i, (text, line, msg)) in ERRORS.iter().enumerate() {
        let e = err_of(&format!("err{i}"), text);
        assert_eq!(e.kind, ConfigErrorKind::Directive, "{text:?}");
        assert_eq!(e.message, *msg, "{text:?}");
        assert_eq!(e.line, *line, "{text:?}");
        let want_line = text.lines().nth(line - 1).unwrap_or_default();
        assert_eq!(e.line_text, want_line, "{text:?}");
        assert!(e.source.ends_with("t.conf"), "{}", e.source);
    }
}

#[test]
fn error_display_is_redis_shaped() {
    let e = err_of("display", "port 1\n  foo bar  \n");
    let want = format!(
        "*** FATAL CONFIG FILE ERROR (Tessera {VERSION}) ***\n\
         Reading the configuration file, at line 2\n\
         >>> 'foo bar'\n\
         Bad directive or wrong number of arguments\n\
         File: {}",
        e.source
    );
    assert_eq!(e.to_string(), want);
    let dir = tmpdir("display-open");
    let e = Config::load_in(&dir, Some("missing.conf"), &[], None).expect_err("missing file");
    assert_eq!(e.kind, ConfigErrorKind::Open);
    assert_eq!(
        e.to_string(),
        "Fatal error, can't open config file 'missing.conf': No such file or directory"
    );
}

#[test]
fn logfile_must_be_openable() {
    let e = err_of("logfile", "logfile /nonexistent-tessera-dir/x.log\n");
    assert_eq!(e.kind, ConfigErrorKind::Fatal);
    assert_eq!(
        e.to_string(),
        format!("*** FATAL CONFIG FILE ERROR (Tessera {VERSION}) ***\nCan't open the log file: No such file or directory")
    );
    let c = load_ok("logfile-ok", "logfile t.log\n");
    assert_eq!(c.get_str("logfile"), "t.log");
}

#[test]
fn command_line_options() {
    let dir = tmpdir("cmdline");
    let load = |file: Option<&str>, a: &[&str]| Config::load_in(&dir, file, &args(a), None);
    let c = load(
        None,
        &[
            "--port",
            "6380",
            "--bind",
            "127.0.0.1",
            "::1",
            "--maxmemory",
            "1gb",
        ],
    )
    .expect("ok");
    assert_eq!(c.port(), 6380);
    assert_eq!(c.bind(), vec!["127.0.0.1", "::1"]);
    assert_eq!(c.maxmemory(), 1 << 30);
    assert!(c.config_file().is_none());
    // "--port 6380" in one argument, `--save` with no value, values starting with "--"
    let c = load(
        None,
        &["--port 6381", "--save", "--requirepass", "--secret"],
    )
    .expect("ok");
    assert_eq!(c.port(), 6381);
    assert_eq!(c.get_str("save"), "");
    assert_eq!(c.requirepass(), Some("--secret"));
    let c = load(None, &["--loglevel", "warning", "--save"]).expect("ok");
    assert_eq!(c.get_str("save"), "");
    assert_eq!(
        options_text(&args(&["--port", "1", "--maxmemory", "a b\"c"])),
        "port \"1\" \nmaxmemory \"a b\\\"c\" "
    );

    // Errors: line numbers continue after the file, as in redis-server.
    let e = load(None, &["--port", "abc"]).expect_err("bad port");
    assert_eq!(
        (e.line, e.line_text.as_str(), e.source.as_str()),
        (2, "port \"abc\"", "command line")
    );
    write(&dir, "b.conf", "port 1\nloglevel notice\n");
    write(&dir, "c.conf", "port 1\nloglevel notice");
    assert_eq!(
        load(Some("b.conf"), &["--port", "abc"])
            .expect_err("e")
            .line,
        4
    );
    assert_eq!(
        load(Some("c.conf"), &["--port", "abc"])
            .expect_err("e")
            .line,
        3
    );
    assert_eq!(
        load(Some("b.conf"), &["--port", "2", "--port", "abc"])
            .expect_err("e")
            .line,
        5
    );
    let e = load(
        None,
        &["--port", "1", "--bind", "127.0.0.1", "::1", "--foo"],
    )
    .expect_err("foo");
    assert_eq!((e.line, e.line_text.as_str()), (4, "foo"));
    assert_eq!(e.message, "Bad directive or wrong number of arguments");
    let e = load(Some("b.conf"), &["stray"]).expect_err("stray");
    assert_eq!(e.line_text, "\"stray\"");

    // Options override the file.
    let c = load(Some("b.conf"), &["--port", "9"]).expect("ok");
    assert_eq!(c.port(), 9);
    assert_eq!(c.config_file(), Some(dir.join("b.conf").as_path()));
}

#[test]
fn split_argv_like_redis_server() {
    let a = args(&["/etc/redis.conf", "--port", "1"]);
    assert_eq!(split_argv(&a), (Some("/etc/redis.conf"), &a[1..]));
    let a = args(&["--port", "1"]);
    assert_eq!(split_argv(&a), (None, &a[..]));
    let a = args(&["-", "--port", "1"]);
    assert_eq!(split_argv(&a), (Some("-"), &a[1..]));
    let a = args(&["--port", "1", "-"]);
    assert_eq!(split_argv(&a), (Some("-"), &a[..2]));
    assert_eq!(split_argv(&[]), (None, &[][..]));
}

#[test]
fn config_from_stdin() {
    let dir = tmpdir("stdin");
    let c = Config::load_in(&dir, Some("-"), &args(&["--hz", "20"]), Some("port 5\n")).expect("ok");
    assert_eq!((c.port(), c.hz()), (5, 20));
    assert!(c.config_file().is_none());
    let e = Config::load_in(&dir, Some("-"), &[], Some("port 5\nport x\n")).expect_err("bad");
    assert_eq!((e.line, e.source.as_str()), (2, "stdin"));
    let e = Config::load_in(&dir, Some("-"), &args(&["--port", "x"]), Some("port 5\n"))
        .expect_err("bad");
    assert_eq!(e.line, 3);
}

#[test]
fn include_files_and_globs() {
    let dir = tmpdir("include");
    std::fs::create_dir_all(dir.join("conf.d")).expect("mkdir");
    write(&dir, "conf.d/b.conf", "loglevel warning\nport 2\n");
    write(&dir, "conf.d/a.conf", "port 1\nhz 20\n");
    write(&dir, "conf.d/.hidden.conf", "port 99\n");
    write(&dir, "conf.d/c.txt", "port 98\n");
    write(&dir, "bad.conf", "# bad\nport 1\nhz x\n");
    write(
        &dir,
        "main.conf",
        "include conf.d/*.conf\ninclude nomatch*.conf\ntimeout 5\n",
    );
    let c = Config::load_in(&dir, Some("main.conf"), &[], None).expect("ok");
    assert_eq!((c.port(), c.hz(), c.loglevel()), (2, 20, "warning"));
    assert_eq!(c.get_i64("timeout"), 5);

    // Later lines override included ones; absolute include paths work.
    let abs = dir.join("conf.d/a.conf");
    write(
        &dir,
        "main2.conf",
        &format!("port 7\ninclude {}\nloglevel debug\n", abs.display()),
    );
    let c = Config::load_in(&dir, Some("main2.conf"), &[], None).expect("ok");
    assert_eq!((c.port(), c.loglevel()), (1, "debug"));

    // An error inside an included file names that file and its own line.
    write(&dir, "main3.conf", "port 1\n\ninclude bad.conf\n");
    let e = Config::load_in(&dir, Some("main3.conf"), &[], None).expect_err("bad include");
    assert_eq!((e.line, e.line_text.as_str()), (3, "hz x"));
    assert_eq!(e.source, dir.join("bad.conf").to_string_lossy());

    write(&dir, "main4.conf", "include missing.conf\n");
    let e = Config::load_in(&dir, Some("main4.conf"), &[], None).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "Fatal error, can't open config file 'missing.conf': No such file or directory"
    );

    // Relative includes follow `dir`, as the working directory does in redis-server.
    write(&dir, "main5.conf", "dir conf.d\ninclude a.conf\n");
    let c = Config::load_in(&dir, Some("main5.conf"), &[], None).expect("ok");
    assert_eq!(c.hz(), 20);
    assert_eq!(c.dir(), dir.join("conf.d").as_path());

    // Self-inclusion stops instead of recursing forever.
    write(&dir, "loop.conf", "include loop.conf\n");
    let e = Config::load_in(&dir, Some("loop.conf"), &[], None).expect_err("loop");
    assert_eq!(e.message, "Too many nested include directives");
}

#[test]
fn config_file_path_is_absolute() {
    let dir = tmpdir("abs");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    write(&dir, "sub/r.conf", "port 1\n");
    let c = Config::load_in(&dir, Some("./sub/../sub/r.conf"), &[], None).expect("ok");
    assert_eq!(c.config_file(), Some(dir.join("sub/r.conf").as_path()));
}
