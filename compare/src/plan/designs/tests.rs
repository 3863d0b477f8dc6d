use super::*;

#[test]
fn the_built_in_file_parses() {
    let designs = parse_built_in().unwrap();
    assert!(designs.iter().all(|d| d.clean_exit == CleanExit::Zero));
    assert!(designs.iter().all(|d| d.stop_signal == StopSignal::Term));
    for name in ["reactor", "threads", "tokio-current", "nginx", "seed-echo"] {
        assert!(designs.iter().any(|d| d.name == name), "{name} missing");
    }
}

#[test]
fn the_example_files_parse() {
    for (name, text) in [
        (
            "my-server.toml",
            include_str!("../../../examples/my-server.toml"),
        ),
        (
            "reactor-is-threads.toml",
            include_str!("../../../examples/reactor-is-threads.toml"),
        ),
    ] {
        let d = parse(name, text, None).unwrap();
        assert_eq!(d.len(), 1, "{name}");
    }
}

#[test]
fn a_ten_line_user_design_parses() {
    let text = r#"
[[design]]
name = "mine"
about = "my server"
command = ["/opt/mine", "--port", "{tcp_port}"]
serves = ["tcp"]
max_conns = 100
"#;
    let d = &parse("mine.toml", text, None).unwrap()[0];
    assert_eq!(d.serves, vec![Proto::Tcp]);
    assert_eq!(d.max_conns, Some(100));
    assert_eq!(d.ready, Readiness::Auto);
}

fn error_of(text: &str) -> PlanError {
    parse("bad.toml", text, None).unwrap_err()
}

#[test]
fn syntax_errors_name_the_line() {
    let e = error_of("[[design]]\nname = \"x\"\nabout = \"y\nserves = []\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().starts_with("bad.toml:3:"), "{e}");
}

#[test]
fn unknown_fields_and_protocols_name_the_line() {
    let base = "[[design]]\nname = \"x\"\nabout = \"y\"\ncommand = [\"a\"]\n";
    let e = error_of(&format!("{base}serves = [\"tcp\", \"quic\"]\n"));
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("quic"), "{e}");
    let e = error_of(&format!("{base}serves = [\"tcp\"]\nmax_con = 3\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("max_con"), "{e}");
}

#[test]
fn bad_placeholders_name_the_line() {
    let e = error_of(
        "[[design]]\nname = \"x\"\nabout = \"y\"\n\ncommand = [\"a\", \"{udp}\"]\nserves = [\"tcp\"]\n",
    );
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("{udp}"), "{e}");
    let e = error_of(
        "[[design]]\nname = \"x\"\nabout = \"y\"\ncommand = [\"{tpc}\"]\nserves = [\"tcp\"]\n",
    );
    assert!(e.message.contains("unknown placeholder {tpc}"), "{e}");
}

#[test]
fn missing_fields_and_duplicates_are_errors() {
    let e = error_of("[[design]]\nname = \"x\"\nabout = \"y\"\nserves = [\"tcp\"]\n");
    assert!(e.message.contains("command"), "{e}");
    let one = "[[design]]\nname = \"x\"\nabout = \"y\"\ncommand = [\"a\"]\nserves = [\"tcp\"]\n";
    let e = error_of(&format!("{one}{one}"));
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("twice"), "{e}");
}

#[test]
fn merging_replaces_same_names_in_place() {
    let base = parse("designs.toml", BUILT_IN, None).unwrap();
    let extra = parse(
        "mine.toml",
        "[[design]]\nname = \"reactor\"\nabout = \"swapped\"\ncommand = [\"x\"]\nserves = [\"tcp\"]\n\
         [[design]]\nname = \"new\"\nabout = \"n\"\ncommand = [\"y\"]\nserves = [\"udp\"]\n",
        None,
    )
    .unwrap();
    let n = base.len();
    let merged = merge(base, extra);
    assert_eq!(merged.len(), n + 1);
    assert_eq!(merged[0].name, "reactor");
    assert_eq!(merged[0].about, "swapped");
    assert_eq!(merged[n].name, "new");
}
