//! The guest's `/tmp`: the hostile set (quotas, many files, deep folders, names and sizes, seeks, open files, a 1 GiB
//! write), determinism across the fresh-instance, reused-instance and session paths, files placed and fetched, and
//! no host file-system work while code runs.

use std::sync::OnceLock;
use std::time::Duration;

use cir_runtime::{Error, Execution, Input, Limits, Sandbox, Status};

use super::{program, sandbox};

/// Runs `tests/py/<name>.py` with a 30 s deadline: these programs do thousands of file operations, and the point is
/// what the quotas do, not how fast a loaded machine gets there (each takes well under 2 s alone).
#[track_caller]
fn run(name: &str) -> Execution {
    static PATIENT: OnceLock<Sandbox> = OnceLock::new();
    let sandbox = PATIENT.get_or_init(|| {
        let limits = Limits { timeout: Duration::from_secs(30), ..Limits::default() };
        Sandbox::builder().limits(limits).build().expect("the sandbox loads")
    });
    sandbox.exec(&program(name), 0).expect("the sandbox runs the program")
}

/// A sandbox whose `/tmp` holds at most `bytes` bytes and `entries` names.
fn small_tmp(bytes: u64, entries: usize) -> Sandbox {
    let limits = Limits { tmp_bytes: bytes, tmp_entries: entries, ..Limits::default() };
    Sandbox::builder().limits(limits).build().expect("the sandbox loads")
}

#[test]
fn tmp_fill_the_quota() {
    let run = run("tmp_fill_quota");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "stopped: ENOSPC No space left on device after 67108864\nsize 67108864\nsmall: ENOSPC\n\
         ['big', 'small'] 0\nafter removing big: 1000\n"
    );
}

#[test]
fn tmp_many_small_files() {
    let run = run("tmp_many_small_files");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "stopped: EDQUOT Quota exceeded after 4096\n4096 ['f00000', 'f00001', 'f00002'] f04095 True\n\
         folder EDQUOT\nsymlink EDQUOT\nlink EDQUOT\nafter removing one: 4096 True\n"
    );
}

#[test]
fn tmp_deep_folders() {
    let run = run("tmp_deep_folders");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "stopped: ENAMETOOLONG at depth 2045 path length 4096\nwalked 2046 folders\n\
         nlink of deep 3 of the deepest 2\n[]\n"
    );
}

#[test]
fn tmp_rename_unlink_truncate() {
    let run = run("tmp_rename_unlink_truncate");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "renamed over: ['b'] aaa\nfolder into itself EINVAL\nfolder over a file ENOTDIR\nfile over a folder EISDIR\n\
         over a non-empty folder ENOTEMPTY\nmoved: ['b'] 3 2\nunlinked but open: aaa 0 False\n\
         hard link: 2 True\nshrunk: '0123' 4\ngrown: '0123\\x00\\x00\\x00\\x00'\none name left: 1\n\
         symlink: x/y True [] 3\nsymlink loop ELOOP\nabsolute symlink EPERM\nsymlink out of /tmp EPERM\n\
         dot-dot out of /tmp EPERM\nrmdir non-empty ENOTEMPTY\nunlink a folder EISDIR\n\
         write to the stdlib EROFS\nname too long ENAMETOOLONG\n['ln', 'loop', 't2', 'up', 'x']\n"
    );
}

#[test]
fn tmp_seek_past_the_end() {
    let run = run("tmp_seek_past_the_end");
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(
        run.stdout,
        "size 1048577 tell 1048577\ngap True end b'' b''\nwrite at 1 TiB: ENOSPC\nnegative seek: EINVAL\n\
         end 1048577 size 1048577\nonetwo\n"
    );
}

#[test]
fn tmp_a_1_gib_write_stores_the_quota_and_no_more() {
    // WASI CPython has no `os.writev`, so the 1 GiB is one buffer: the guest needs more memory than the default.
    let limits = Limits { memory_bytes: 1536 << 20, timeout: Duration::from_secs(30), ..Limits::default() };
    let sandbox = Sandbox::builder().limits(limits).spare_instances(0).build().expect("the sandbox loads");
    let run = sandbox.exec(&program("tmp_write_1_gib"), 0).unwrap();
    assert_eq!(run.status, Status::Ok, "{run:?}");
    assert_eq!(run.stdout, "asked 1073741824 written 67108864 size 67108864\nthen: ENOSPC\n");
}

#[test]
fn tmp_files_open_at_the_end_of_an_execution_are_gone_from_the_next() {
    // One spare: the second execution runs in the instance the first left files open in (where reuse is possible).
    let sandbox = Sandbox::builder().spare_instances(1).build().expect("the sandbox loads");
    let first = sandbox.exec(&program("tmp_leave_open"), 0).unwrap();
    assert_eq!(first.stdout, "['open0', 'open1', 'open2', 'open3', 'open4', 'raw'] 10\n", "{first:?}");
    for _ in 0..2 {
        let again = sandbox.exec(&program("tmp_leave_open"), 0).unwrap();
        assert_eq!(again.stdout, first.stdout, "descriptors or files survived into the next execution");
    }
    let check = sandbox.exec("import os\nprint(os.listdir('.'), os.open('x', os.O_CREAT | os.O_WRONLY))", 0).unwrap();
    assert_eq!(check.stdout, "[] 5\n", "{check:?}");
}

#[test]
fn tmp_determinism_twenty_runs_fresh_reused_and_in_a_session() {
    let code = program("tmp_determinism");
    let fresh = Sandbox::builder().spare_instances(0).build().expect("loads");
    let reused = Sandbox::builder().spare_instances(1).build().expect("loads");
    let first = fresh.exec(&code, 5).unwrap();
    assert_eq!(first.status, Status::Ok, "{first:?}");
    for _ in 0..20 {
        for (path, sandbox) in [("fresh", &fresh), ("reused", &reused)] {
            let again = sandbox.exec(&code, 5).unwrap();
            assert_eq!((&again.stdout, &again.stderr), (&first.stdout, &first.stderr), "{path} instance differs");
        }
    }
    let mut session = reused.session(5).unwrap();
    assert_eq!(session.exec(&code).unwrap().stdout, first.stdout, "a session's first call differs");
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert!(lines[0].starts_with("cwd /tmp time 17040672000"), "{}", lines[0]);
    // The stdlib zip: inode 2 of device 1, one link, its mtime the virtual clock's start (not the host file's).
    assert!(lines[2].contains("(2, 1, 1, "), "{}", lines[2]);
    assert!(lines[2].starts_with("stdlib ('0o40000', 1, 1, 2, 4096, 1704067200000000000,"), "{}", lines[2]);
    assert_eq!(lines[3], "['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'hard-b', 'link-to-a', 'sub']");
}

#[test]
fn tmp_is_the_working_folder_and_files_persist_across_a_session() {
    let mut session = sandbox().session(0).unwrap();
    let wrote = session.exec("import os\nopen('notes.txt', 'w').write('kept')\nlog = open('log', 'w')\nlog.write('a')");
    assert_eq!(wrote.unwrap().status, Status::Ok);
    let read = session
        .exec("log.write('b')\nlog.flush()\nprint(os.getcwd(), open('/tmp/notes.txt').read(), open('log').read())");
    assert_eq!(read.unwrap().stdout, "/tmp kept ab\n");
    let fresh = sandbox().exec("import os\nprint(os.listdir('/tmp'))", 0).unwrap();
    assert_eq!(fresh.stdout, "[]\n", "a session's files leaked into a fresh execution");
}

#[test]
fn tmp_quotas_bound_a_session_as_a_whole() {
    let small = small_tmp(1000, 3);
    let mut session = small.session(0).unwrap();
    let first = session.exec("open('a', 'wb').write(bytes(600))").unwrap();
    assert_eq!(first.status, Status::Ok, "{first:?}");
    let second = session.exec("with open('b', 'wb') as f:\n    f.write(bytes(600))").unwrap();
    assert_eq!(second.error.as_deref(), Some("OSError: [Errno 51] No space left on device"), "{second:?}");
    let third = session
        .exec("import os\nos.remove('a')\nwith open('b', 'wb') as f:\n    f.write(bytes(600))\nprint(os.listdir())");
    assert_eq!(third.unwrap().stdout, "['b']\n");
}

#[test]
fn input_files_are_placed_in_the_working_folder_and_fetched_after_the_run() {
    let input = Input {
        stdin: b"5\n".to_vec(),
        files: vec![("data/in.txt".into(), b"3 4".to_vec()), ("/tmp/abs.txt".into(), b"x".to_vec())],
        fetch: ["out.txt", "data/in.txt", "missing.txt", "data", "/etc/passwd", "/tmp/abs.txt", "../tmp/out.txt"]
            .map(String::from)
            .to_vec(),
    };
    let code = "import os\na, b = map(int, open('data/in.txt').read().split())\n\
                open('out.txt', 'w').write(str(a * b * int(input())))\nprint(sorted(os.listdir()))";
    let output = sandbox().run(code, 0, &input).unwrap();
    assert_eq!(output.execution.stdout, "['abs.txt', 'data', 'out.txt']\n", "{:?}", output.execution);
    let fetched: Vec<(&str, &[u8])> = output.files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    assert_eq!(fetched, [("out.txt", &b"60"[..]), ("data/in.txt", b"3 4"), ("/tmp/abs.txt", b"x")]);
}

#[test]
fn input_files_outside_tmp_or_past_a_quota_are_refused() {
    let small = small_tmp(10, 2);
    for (path, bytes, needle) in [
        ("/etc/x", 1, "not a path in /tmp"),
        ("../x", 1, "leaves the folder"),
        ("a/../../x", 1, "leaves the folder"),
        ("big", 11, "10-byte quota"),
        ("a/b/c", 1, "2-entry quota"),
    ] {
        let input = Input { files: vec![(path.into(), vec![b'x'; bytes])], ..Input::default() };
        match small.run("print(1)", 0, &input) {
            Err(Error::File { path: p, reason }) => assert!(p == path && reason.contains(needle), "{path}: {reason}"),
            other => panic!("{path}: {other:?}"),
        }
    }
    // The sandbox is fine afterwards.
    assert_eq!(small.exec("print(2)", 0).unwrap().stdout, "2\n");
}

/// Bytes the process read and wrote through system calls (Linux's `/proc/self/io`).
#[cfg(target_os = "linux")]
fn io_bytes() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).expect("a counter")
    };
    (field("rchar:"), field("wchar:"))
}

#[test]
#[cfg(target_os = "linux")]
fn tmp_never_touches_the_host_file_system() {
    // The guest's files live in host memory: executions that write and read 16 MiB each move (almost) no bytes
    // through the process's read and write system calls. A host folder behind /tmp would move 64 MiB each way.
    let code = "import os\ndata = os.urandom(1 << 20) * 16\nopen('f', 'wb').write(data)\n\
                assert open('f', 'rb').read() == data\nprint(len(os.listdir('/tmp')))";
    sandbox().exec("print(0)", 0).unwrap();
    let (read, written) = io_bytes();
    for seed in 0..4 {
        let run = sandbox().exec(code, seed).unwrap();
        assert_eq!((run.status, run.stdout.as_str()), (Status::Ok, "1\n"), "{run:?}");
    }
    let (read_after, written_after) = io_bytes();
    assert!(read_after - read < 1 << 20, "{} bytes read from the host", read_after - read);
    assert!(written_after - written < 1 << 20, "{} bytes written to the host", written_after - written);
}
