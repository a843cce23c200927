//! Integration tests of cir-runtime: determinism, limits, bad input, and one named test per hostile program in
//! `tests/py/` (those of the guest's `/tmp` in [`tmp`]). Each test process loads the cached interpreter (prepared on
//! first use).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cir_runtime::{Error, Execution, Limits, Pool, Sandbox, Status};

mod tmp;

/// The guest program `tests/py/<name>.py`.
fn program(name: &str) -> String {
    let path = format!("{}/tests/py/{name}.py", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The sandbox with default limits but a short deadline, so the hostile cases finish fast.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let limits = Limits { timeout: Duration::from_secs(2), ..Limits::default() };
        Sandbox::builder().limits(limits).build().expect("the sandbox loads")
    })
}

#[track_caller]
fn run(name: &str) -> Execution {
    sandbox().exec(&program(name), 0).expect("the sandbox runs the program")
}

/// The host is unharmed: a trivial program still runs correctly afterwards.
#[track_caller]
fn host_still_works() {
    let after = sandbox().exec("print(6 * 7)", 0).expect("runs");
    assert_eq!((after.status, after.stdout.as_str()), (Status::Ok, "42\n"));
}

#[test]
fn trivial_print() {
    let run = sandbox().exec("print(1 + 1)", 0).unwrap();
    assert_eq!(run.status, Status::Ok);
    assert_eq!(run.stdout, "2\n");
    assert_eq!(run.error, None);
    assert_eq!(run.feedback(), "\n```output\n2\n```\n");
}

#[test]
fn determinism_twenty_runs_byte_identical() {
    let code = program("determinism");
    let first = sandbox().exec(&code, 7).unwrap();
    assert_eq!(first.status, Status::Ok, "{first:?}");
    for _ in 0..19 {
        let again = sandbox().exec(&code, 7).unwrap();
        assert_eq!((&again.stdout, &again.stderr), (&first.stdout, &first.stderr));
    }
    let other = sandbox().exec(&code, 8).unwrap();
    let lines = |r: &Execution| r.stdout.lines().map(str::to_string).collect::<Vec<_>>();
    let (a, b) = (lines(&first), lines(&other));
    assert_eq!(a[0], b[0], "clocks do not depend on the seed");
    assert_ne!(a[1], b[1], "random differs between seeds");
    assert_ne!(a[2], b[2], "numpy.random differs between seeds");
    assert_eq!(a[3], b[3], "hash() is fixed");
    assert_ne!(a[4], b[4], "os.urandom differs between seeds");
    assert!(a[0].starts_with("1704067200."), "virtual wall clock starts at 2024-01-01: {}", a[0]);
}

#[test]
fn sleep_advances_virtual_time_without_waiting() {
    sandbox();
    let started = Instant::now();
    let run = run("sleep");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(run.stdout, "3 3\n");
    assert!(started.elapsed() < Duration::from_secs(2), "slept on the host: {:?}", started.elapsed());
}

#[test]
fn stdin_is_what_input_reads() {
    let code =
        "import sys\nfirst = input()\nrest = sys.stdin.read()\nprint(repr(first), repr(rest))\nraise ValueError(first)";
    let run = sandbox().exec_with_stdin(code, 0, "2 40\nline two\n".as_bytes()).unwrap();
    assert_eq!(run.stdout, "'2 40' 'line two\\n'\n", "{run:?}");
    assert_eq!(run.error.as_deref(), Some("ValueError: 2 40"));
    assert!(run.stderr.contains("line 5"), "tracebacks count the code's own lines: {}", run.stderr);
    let empty = sandbox().exec("input()", 0).unwrap();
    assert_eq!(empty.error.as_deref(), Some("EOFError: EOF when reading a line"), "{empty:?}");
    let limit = sandbox().limits().code_bytes;
    let too_long = sandbox().exec_with_stdin("print(1)", 0, &vec![b'x'; limit + 1]);
    assert!(matches!(too_long, Err(cir_runtime::Error::StdinTooLarge { .. })), "{too_long:?}");
}

#[test]
fn fresh_instance_per_execution() {
    let first = sandbox().exec("x = 41\nprint(x + 1)", 0).unwrap();
    assert_eq!(first.stdout, "42\n");
    let second = sandbox().exec("print(x)", 0).unwrap();
    assert_eq!(second.status, Status::Error);
    assert_eq!(second.error.as_deref(), Some("NameError: name 'x' is not defined"));
}

#[test]
fn a_reused_instance_keeps_nothing_of_the_last_execution() {
    // One spare: every execution after the first runs in the instance its predecessor used (where the kernel allows
    // reuse), whatever other tests run at the same time.
    let sandbox = Sandbox::builder().spare_instances(1).build().expect("the sandbox loads");
    let before = sandbox.exec(&program("check_traces"), 3).unwrap();
    assert_eq!(before.status, Status::Ok, "{before:?}");
    for _ in 0..3 {
        let left = sandbox.exec(&program("leave_traces"), 0).unwrap();
        assert_eq!(left.error.as_deref(), Some("RuntimeError: left traces"), "{left:?}");
        let after = sandbox.exec(&program("check_traces"), 3).unwrap();
        assert_eq!(after.stdout, before.stdout);
    }
}

#[test]
fn more_concurrent_executions_than_spares_wait_for_a_turn_and_all_finish() {
    let sandbox = Sandbox::builder().spare_instances(1).build().expect("the sandbox loads");
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let sandbox = &sandbox;
            s.spawn(move || {
                for i in 0..3 {
                    let run = sandbox.exec(&format!("print({t} * 10 + {i})"), t).expect("runs");
                    assert_eq!(run.stdout, format!("{}\n", t * 10 + i), "{run:?}");
                }
            });
        }
    });
}

#[test]
fn preload_leaves_a_clean_namespace() {
    let run = run("clean_namespace");
    assert_eq!((run.status, run.stdout.as_str()), (Status::Ok, "[]\n"), "{run:?}");
}

#[test]
fn sympy_is_preloaded_and_fast() {
    let run = run("sympy_solve");
    assert_eq!((run.status, run.stdout.as_str()), (Status::Ok, "[2, 3]\n"), "{run:?}");
    assert!(run.duration_ms < 1000.0, "sympy was not preloaded: {} ms", run.duration_ms);
}

#[test]
fn error_gives_the_exception_line() {
    let run = sandbox().exec("print('before')\n1 / 0", 0).unwrap();
    assert_eq!(run.status, Status::Error);
    assert_eq!(run.stdout, "before\n");
    assert_eq!(run.error.as_deref(), Some("ZeroDivisionError: division by zero"));
    assert!(run.stderr.contains("Traceback"), "{}", run.stderr);
    assert_eq!(run.feedback(), "\n```output\nZeroDivisionError: division by zero\n```\n");
}

#[test]
fn sys_exit_code_is_an_exit_code_not_a_trap() {
    let run = sandbox().exec("import sys\nsys.exit(3)", 0).unwrap();
    assert_eq!((run.status, run.exit_code), (Status::Error, Some(3)), "{run:?}");
    let ok = sandbox().exec("import sys\nprint('hi')\nsys.exit(0)", 0).unwrap();
    assert_eq!((ok.status, ok.stdout.as_str()), (Status::Ok, "hi\n"), "{ok:?}");
}

#[test]
fn echo_of_final_expression_is_optional() {
    let echo = sandbox().exec("x = 20\nx + 22", 0).unwrap();
    assert_eq!(echo.stdout, "42\n");
    let quiet = Sandbox::builder().echo_last_expression(false).build().unwrap();
    let run = quiet.exec("x = 20\nx + 22", 0).unwrap();
    assert_eq!((run.status, run.stdout.as_str()), (Status::Ok, ""), "{run:?}");
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    assert!(matches!(sandbox().exec("", 0), Err(Error::EmptyCode)));
    assert!(matches!(sandbox().exec(" \n\t", 0), Err(Error::EmptyCode)));
    assert!(matches!(sandbox().exec("print(1)\0", 0), Err(Error::NulByte { offset: 8 })));
    let big = "#".repeat((1 << 20) + 1);
    assert!(matches!(sandbox().exec(&big, 0), Err(Error::CodeTooLarge { .. })));
    let syntax = sandbox().exec("def (", 0).unwrap();
    assert_eq!(syntax.status, Status::Error);
    assert!(syntax.error.as_deref().unwrap_or("").starts_with("SyntaxError"), "{syntax:?}");
}

#[test]
fn timeout_busy_loop() {
    sandbox();
    let started = Instant::now();
    let run = run("busy_loop");
    assert_eq!(run.status, Status::Timeout, "{run:?}");
    assert_eq!(run.feedback(), "\n```output\nTimeout Error\n```\n");
    assert!(started.elapsed() < Duration::from_secs(4), "deadline overshot: {:?}", started.elapsed());
    host_still_works();
}

#[test]
fn timeout_huge_power() {
    let run = run("huge_power");
    assert!(matches!(run.status, Status::Timeout | Status::MemoryLimit), "{run:?}");
    host_still_works();
}

#[test]
fn memory_allocate_8_gib() {
    let run = run("allocate_8_gib");
    assert_eq!(run.status, Status::MemoryLimit, "{run:?}");
    host_still_works();
}

#[test]
fn memory_cap_is_configurable() {
    let small = Sandbox::builder().limits(Limits { memory_bytes: 400 << 20, ..Limits::default() }).build().unwrap();
    let run = small.exec("x = bytearray(300 * 1024**2)\nprint(len(x))", 0).unwrap();
    assert_eq!(run.status, Status::MemoryLimit, "{run:?}");
    let fits = small.exec("x = bytearray(10 * 1024**2)\nprint(len(x))", 0).unwrap();
    assert_eq!(fits.status, Status::Ok, "{fits:?}");
}

#[test]
fn output_print_1_gib() {
    let run = run("print_1_gib");
    assert_eq!(run.status, Status::OutputLimit, "{run:?}");
    assert!(run.truncated);
    assert_eq!(run.stdout.len() + run.stderr.len(), 1 << 20);
    host_still_works();
}

#[test]
fn fuel_limit() {
    let metered = Sandbox::builder().limits(Limits { fuel: Some(50_000_000), ..Limits::default() }).build().unwrap();
    let run = metered.exec("while True: pass", 0).unwrap();
    assert_eq!(run.status, Status::FuelExhausted, "{run:?}");
    let ok = metered.exec("print(sum(range(10)))", 0).unwrap();
    assert_eq!((ok.status, ok.stdout.as_str()), (Status::Ok, "45\n"), "{ok:?}");
}

#[test]
fn isolation_read_etc_passwd() {
    let run = run("read_etc_passwd");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("root:"));
    assert!(run.error.as_deref().unwrap_or("").starts_with("FileNotFoundError"), "{run:?}");
}

#[test]
fn isolation_list_root_shows_only_the_preopens() {
    // wasi-libc resolves paths against the preopens only: "/" itself is not one, so listing it fails.
    let run = run("list_root");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert_eq!(run.error.as_deref(), Some("FileNotFoundError: [Errno 44] No such file or directory: '/'"));
}

#[test]
fn isolation_write_outside_tmp() {
    let run = run("write_outside_tmp");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert!(!run.stdout.contains("WROTE"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("refused").count(), 4, "{}", run.stdout);
    assert!(!std::path::Path::new("/etc/cir-escape").exists() && !std::path::Path::new("/cir-escape").exists());
}

#[test]
fn isolation_tmp_is_private_and_fresh() {
    let first = run("tmp_is_private");
    assert_eq!((first.status, first.stdout.as_str()), (Status::Ok, "[]\n['mark'] x\n"), "{first:?}");
    let second = run("tmp_is_private");
    assert_eq!(second.stdout, first.stdout, "a file survived into the next execution");
}

#[test]
fn isolation_socket() {
    let run = run("socket_connect");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("CONNECTED"));
}

#[test]
fn isolation_subprocess() {
    let run = run("subprocess_run");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("SPAWNED"));
}

#[test]
fn isolation_os_system() {
    let run = run("os_system");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("SPAWNED"));
    assert!(!std::path::Path::new("/tmp/cir-os-system").exists());
}

#[test]
fn isolation_fork() {
    let run = run("fork");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("FORKED"));
}

#[test]
fn isolation_ctypes() {
    let run = run("ctypes_load");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("LOADED"));
}

#[test]
fn isolation_host_environment() {
    let run = run("host_environment");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "[('HOME', '/tmp'), ('LC_ALL', 'C.UTF-8'), ('PYTHONHASHSEED', '0'), ('PYTHONTZPATH', ''), ('TMPDIR', '/tmp')]\n"
    );
}

#[test]
fn isolation_deep_recursion() {
    // CPython 3.15 keeps Python frames off the C stack: unbounded recursion grows the heap until a limit stops it.
    let run = run("deep_recursion");
    assert!(matches!(run.status, Status::Error | Status::Crash | Status::Timeout | Status::MemoryLimit), "{run:?}");
    host_still_works();
}

#[test]
fn isolation_host_call_refuses() {
    let run = run("host_call");
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(!run.stdout.contains("CALLED"));
    assert_eq!(run.error.as_deref(), Some("ConnectionRefusedError: no host is bound to the door"));
}

#[test]
fn session_keeps_state() {
    let mut session = sandbox().session(0).unwrap();
    assert_eq!(session.exec("x = 40").unwrap().status, Status::Ok);
    assert_eq!(session.exec("print(x + 2)").unwrap().stdout, "42\n");
    let timeout = session.exec("while True: pass").unwrap();
    assert_eq!(timeout.status, Status::Timeout);
    assert!(matches!(session.exec("print(x)"), Err(Error::SessionEnded(Status::Timeout))));
}

#[test]
fn pool_runs_in_parallel_and_returns_each_result() {
    let pool = Pool::new(sandbox(), 2, 4);
    let tickets: Vec<_> = (0..8).map(|i| pool.submit(format!("print({i} * {i})"), 0).unwrap()).collect();
    let outputs: Vec<String> = tickets.into_iter().map(|t| t.wait().unwrap().stdout).collect();
    let expected: Vec<String> = (0..8).map(|i| format!("{}\n", i * i)).collect();
    assert_eq!(outputs, expected);
}
