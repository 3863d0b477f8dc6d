use super::*;

fn built_in(profile: &str) -> Scenarios {
    select(&[parse("scenarios.toml", BUILT_IN).unwrap()], profile).unwrap()
}

#[test]
fn the_built_in_file_has_closed_loop_scenarios_and_a_curve() {
    let quick = built_in("quick");
    assert!(quick
        .run
        .iter()
        .any(|s| s.id == "tcp-64b-64c" && s.load == Load::Closed));
    let curve: Vec<_> = quick.run.iter().filter(|s| s.curve.is_some()).collect();
    assert!(curve.len() >= 3, "a curve in quick too");
    let full = built_in("full");
    assert!(full.run.iter().filter(|s| s.curve.is_some()).count() >= curve.len());
}

fn error_of(text: &str) -> PlanError {
    match parse("s.toml", text).and_then(|f| select(&[f], "full")) {
        Err(e) => e,
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

#[test]
fn bad_scenarios_name_the_line() {
    let e =
        error_of("[[scenario]]\nid = \"a\"\ntitle = \"t\"\nproto = \"tcp\"\nconns = \"many\"\n");
    assert_eq!(e.line, Some(5), "{e}");
    let e = error_of("[[scenario]]\nid = \"a\"\ntitle = \"t\"\nproto = \"sctp\"\nconns = 1\n");
    assert_eq!(e.line, Some(4), "{e}");
    let e = error_of(
        "[[scenario]]\nid = \"a\"\ntitle = \"t\"\nproto = \"tcp\"\nconns = 1\nopen = { from = \"nope\", share = 0.5 }\n",
    );
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("nope"), "{e}");
    let e = error_of(
        "[[scenario]]\nid = \"a\"\ntitle = \"t\"\nproto = \"tcp\"\nconns = 1\n\n[[curve]]\nid = \"c\"\ntitle = \"t\"\nfrom = \"a\"\nshares = [0.5, 7]\n",
    );
    assert_eq!(e.line, Some(11), "{e}");
}

#[test]
fn curves_expand_and_later_files_replace_ids() {
    let a = parse(
        "a.toml",
        "[[scenario]]\nid = \"base\"\ntitle = \"B\"\nproto = \"tcp\"\nconns = 8\n\
         [[curve]]\nid = \"c\"\ntitle = \"C\"\nfrom = \"base\"\nshares = [0.25, 0.5]\nquick_shares = [0.5]\n",
    )
    .unwrap();
    let b = parse(
        "b.toml",
        "[[scenario]]\nid = \"base\"\ntitle = \"B2\"\nproto = \"tcp\"\nconns = 16\n",
    )
    .unwrap();
    let s = select(&[a, b], "full").unwrap();
    let ids: Vec<&str> = s.run.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["base", "c-25", "c-50"]);
    assert_eq!(s.run[0].conns, 16, "replaced by the later file");
    assert_eq!(
        s.run[2].load,
        Load::OpenDerived {
            from: "base".into(),
            share: 0.5
        }
    );
    let a = parse("a.toml", "[[scenario]]\nid = \"x\"\ntitle = \"X\"\nproto = \"udp\"\nconns = 1\nenabled = false\nnote = \"later\"\n").unwrap();
    let s = select(&[a], "quick").unwrap();
    assert!(s.run.is_empty());
    assert_eq!(s.disabled[0].note, "later");
}

#[test]
fn https_scenarios_resume_unless_told_and_only_https_takes_tls_resume() {
    let full = built_in("full");
    let by_id = |id: &str| full.run.iter().find(|s| s.id == id).unwrap();
    assert!(!by_id("https-close").tls_resume);
    assert!(by_id("https-close-resumed").tls_resume);
    assert_eq!(by_id("https-64c").proto, Proto::Https);
    let e = error_of(
        "[[scenario]]\nid = \"a\"\ntitle = \"t\"\nproto = \"http\"\nconns = 1\ntls_resume = false\n",
    );
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("https"), "{e}");
}
