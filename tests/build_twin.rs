//! The blocking twins that `build.rs` derives from the async sources: the
//! transform drops `async` and `.await` from code only, never from
//! comments, strings or character literals, and renames the flavour paths.

#[allow(dead_code)]
#[path = "../build.rs"]
mod build;

use build::to_blocking;

#[test]
fn drops_async_and_await_from_code() {
    let src =
        "pub async fn f(&mut self) -> R {\n    self.g().await?;\n    self.h()\n        .await\n}\n";
    let out = to_blocking(src).unwrap();
    assert_eq!(
        out,
        "pub fn f(&mut self) -> R {\n    self.g()?;\n    self.h()\n        \n}\n"
    );
}

#[test]
fn keeps_comments_strings_and_chars() {
    let src = concat!(
        "// x.await stays; async fn too\n",
        "/* a.await /* nested */ async */\n",
        "const S: &str = \"b.await async fn\";\n",
        "const R: &str = r#\"c.await \"quoted\" async\"#;\n",
        "const B: &[u8] = br\"d.await\";\n",
        "const C: char = '.'; const Q: char = '\\''; fn l<'a>(x: &'a u8) {}\n",
        "fn g() { h().await }\n",
    );
    let out = to_blocking(src).unwrap();
    assert!(out.contains("// x.await stays; async fn too\n"), "{out}");
    assert!(out.contains("/* a.await /* nested */ async */"), "{out}");
    assert!(out.contains("\"b.await async fn\""), "{out}");
    assert!(out.contains("r#\"c.await \"quoted\" async\"#"), "{out}");
    assert!(out.contains("br\"d.await\""), "{out}");
    assert!(
        out.contains("'.'; const Q: char = '\\''; fn l<'a>(x: &'a u8)"),
        "{out}"
    );
    assert!(out.contains("fn g() { h() }"), "{out}");
}

#[test]
fn renames_flavour_paths_and_inner_docs() {
    let src = "//! The async client.\nuse embedded_io_async::{Read, Write};\nuse crate::link::asynch::Link;\nlet awaited = r#type; let asynchronous = 1;\n";
    let out = to_blocking(src).unwrap();
    assert_eq!(
        out,
        "// The async client.\nuse embedded_io::{Read, Write};\nuse crate::link::blocking::Link;\nlet awaited = r#type; let asynchronous = 1;\n"
    );
}

#[test]
fn refuses_async_blocks() {
    let err = to_blocking("fn f() {\n    let x = async move { 1 };\n}\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}
