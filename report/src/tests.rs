use super::*;

fn sample() -> RunReport {
    let p = Percentiles {
        p50: Some(40.0),
        p99: Some(80.0),
        count: 1000,
        ..Percentiles::default()
    };
    RunReport {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        workload: "tcp".into(),
        target: "127.0.0.1:1".into(),
        address: "127.0.0.1:1".into(),
        mode: LoadMode::Closed,
        offered_rps: None,
        arrival: None,
        connections: 1,
        connected: 1,
        threads: 1,
        pipeline: 1,
        size: SizeRange { min: 64, max: 64 },
        started_unix_s: 1.0,
        duration_s: 1.0,
        requests: 1000,
        sent: 1000,
        rps: 1000.0,
        sent_rps: 1000.0,
        bytes_sent: 64_000,
        bytes_received: 64_000,
        mb_per_s: 0.064,
        errors: Errors::default(),
        error_rate: 0.0,
        verify_failures: 0,
        status_codes: Default::default(),
        valid: false,
        invalid_reasons: vec!["late".into()],
        warnings: Vec::new(),
        latency_us: p,
        service_time_us: p,
        send_lag_us: Percentiles::default(),
        schedule_lateness_us: Percentiles::default(),
        connect_us: p,
        generator: Generator::default(),
        timeseries: vec![Interval::default()],
        conn_wait_us: Percentiles::default(),
        intended_latency_us: Percentiles::default(),
        interrupted: false,
        due: 0,
        unsent: 0,
        max_lateness_us: 100.0,
        limited_by: None,
        backlog_peak: 0,
        connect_per_request: false,
        connects: 1,
        connects_per_s: 0.0,
        tls: None,
        udp: None,
        find_max: None,
    }
}

fn without(pointer_parent: &str, key: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(sample()).unwrap();
    let parent = if pointer_parent.is_empty() {
        &mut v
    } else {
        v.pointer_mut(pointer_parent).unwrap()
    };
    parent.as_object_mut().unwrap().remove(key).unwrap();
    v
}

fn field_error(v: serde_json::Value) -> String {
    match from_value(v) {
        Err(ReportError::Field { path, .. }) => path,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_report_reads_back_as_written() {
    let text = serde_json::to_string(&sample()).unwrap();
    assert_eq!(parse(&text).unwrap(), sample());
}

#[test]
fn a_missing_valid_is_an_error_naming_it_not_a_valid_run() {
    assert_eq!(field_error(without("", "valid")), "valid");
    assert_eq!(field_error(without("", "requests")), "requests");
}

#[test]
fn a_missing_nested_field_is_named_by_its_path() {
    assert_eq!(field_error(without("/latency_us", "p99")), "latency_us.p99");
    assert_eq!(field_error(without("/errors", "total")), "errors.total");
    assert_eq!(
        field_error(without("/timeseries/0", "p99_us")),
        "timeseries[0].p99_us"
    );
}

#[test]
fn null_is_allowed_where_nothing_was_measured_but_a_wrong_type_is_not() {
    let mut v = serde_json::to_value(sample()).unwrap();
    v["latency_us"]["p99"] = serde_json::Value::Null;
    assert_eq!(from_value(v.clone()).unwrap().latency_us.p99, None);
    v["valid"] = serde_json::json!("yes");
    assert_eq!(field_error(v), "valid");
}

#[test]
fn unknown_versions_and_other_documents_are_refused() {
    let mut v = serde_json::to_value(sample()).unwrap();
    v["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    assert!(matches!(
        from_value(v.clone()),
        Err(ReportError::UnknownVersion { found }) if found == SCHEMA_VERSION + 1
    ));
    v.as_object_mut().unwrap().remove("schema_version");
    assert!(matches!(from_value(v.clone()), Err(ReportError::NoVersion)));
    v["schema"] = serde_json::json!("reactor-loadgen-probe");
    assert!(matches!(from_value(v), Err(ReportError::OtherSchema(_))));
    assert!(matches!(parse("{"), Err(ReportError::Json(_))));
}

#[test]
fn a_udp_run_needs_its_udp_figures_and_others_do_not() {
    let mut r = sample();
    r.workload = "udp".into();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(field_error(v), "udp");
    r.udp = Some(Udp::default());
    assert!(from_value(serde_json::to_value(&r).unwrap()).is_ok());
}

#[test]
fn fields_added_later_in_a_version_are_ignored() {
    let mut v = serde_json::to_value(sample()).unwrap();
    v["a_new_field"] = serde_json::json!(1);
    assert!(from_value(v).is_ok());
}

fn https_sample() -> RunReport {
    let mut r = sample();
    r.workload = "http".into();
    r.tls = Some(Tls {
        version: Some("TLSv1.3".into()),
        cipher_suite: Some("TLS13_AES_256_GCM_SHA384".into()),
        key_exchange: Some("X25519".into()),
        verification: "cacert".into(),
        insecure: false,
        resumption: true,
        handshakes: 10,
        full_handshakes: 1,
        resumed_handshakes: 9,
        handshakes_per_s: 10.0,
        handshake_us: Percentiles::default(),
        handshake_failures: HandshakeFailures::default(),
    });
    r
}

#[test]
fn an_https_report_reads_back_and_names_a_missing_tls_field() {
    let r = https_sample();
    let text = serde_json::to_string(&r).unwrap();
    assert_eq!(parse(&text).unwrap(), r);
    let mut v = serde_json::to_value(&r).unwrap();
    v["tls"]
        .as_object_mut()
        .unwrap()
        .remove("resumed_handshakes");
    assert_eq!(field_error(v), "tls.resumed_handshakes");
}

#[test]
fn a_document_without_tls_figures_still_reads() {
    // Written by a generator that knew no TLS: no `tls` object, no TLS connect failures.
    let mut v = serde_json::to_value(sample()).unwrap();
    assert!(v.get("tls").is_none(), "plaintext runs write no tls object");
    v["errors"]["connect_by_kind"]
        .as_object_mut()
        .unwrap()
        .remove("tls_handshake");
    let read = from_value(v).unwrap();
    assert_eq!(read.tls, None);
    assert_eq!(read.errors.connect_by_kind.tls_handshake, 0);
}
