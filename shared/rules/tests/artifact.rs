//! The compiled rule artifact: it loads as exactly the rules its YAML
//! compiles to, and anything that no longer matches falls back to the YAML.

use std::path::PathBuf;

use md5::{Digest, Md5};
use switchyard_rules::{
    ArtifactUse, Rule, RuleSource, SourceDigest, compile_artifact, load_sources, read_artifact,
    read_dir,
};

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn same(a: &[Rule], b: &[Rule]) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Every construct of the format in one file: each operator, combinators,
/// constants, nested `not`, every action type's parameters, metadata and
/// timezones.
const EVERY_CONSTRUCT: &str = r#"
rules:
  - name: operators
    priority: 3
    description: every operator
    timezone: Europe/Paris
    metadata: {team: payments, page: "yes"}
    condition:
      all:
        - field: action.payload.amount
          gt: 10
        - field: action.payload.amount
          lte: 10000.5
        - field: action.tenant
          ne: blocked
        - field: action.action_type
          in_list: [a, b, 3]
        - field: action.payload.region
          not_in_list: [moon]
        - field: action.payload.email
          matches: "^[a-z]+@example\\.com$"
        - field: action.payload.name
          starts_with: Dr
        - field: action.payload.name
          ends_with: PhD
        - field: action.payload.tags
          contains: vip
        - field: action.payload.note
          exists: false
        - not:
            any:
              - field: action.payload.flag
                eq: true
              - field: action.payload.level
                gte: 3
                lt: 9
    action:
      type: modify
      changes: {priority: high, nested: {value: 1, list: [1, 2]}}
  - name: catch-all
    enabled: false
    condition:
      any: true
    action:
      type: group
      group_by: [tenant, payload.region]
      group_wait_seconds: 30
      group_interval_seconds: 60
      repeat_interval_seconds: 600
      max_group_size: 50
  - name: never
    condition:
      all: false
    action:
      type: throttle
      max_count: 5
      window_seconds: 60
  - name: approve
    condition:
      field: action.payload.total
      gte: 50000
    action:
      type: request_approval
      notify_provider: email
      timeout_seconds: 3600
      message: big order
  - name: later
    condition:
      field: action.action_type
      eq: report
    action:
      type: schedule
      delay_seconds: 120
  - name: dedup
    condition:
      field: action.action_type
      eq: order
    action:
      type: deduplicate
      ttl_seconds: 600
  - name: reroute
    condition:
      field: action.provider
      eq: old
    action:
      type: reroute
      target_provider: new
  - name: deny
    condition:
      field: action.tenant
      eq: spam
    action:
      type: deny
"#;

fn sources(files: &[(&str, &str)]) -> Vec<RuleSource> {
    files
        .iter()
        .map(|(name, text)| RuleSource {
            name: (*name).to_string(),
            label: format!("dir/{name}"),
            text: (*text).to_string(),
        })
        .collect()
}

#[test]
fn the_artifact_loads_as_the_yaml_compiles() {
    let files = sources(&[("a.yaml", EVERY_CONSTRUCT)]);
    let (from_yaml, artifact) = compile_artifact(&files).expect("compile");
    assert_eq!(from_yaml.len(), 8);
    let (loaded, used) = load_sources(&files, Some(&artifact)).expect("load");
    assert_eq!(used, ArtifactUse::Used);
    assert!(same(&loaded, &from_yaml), "{loaded:#?}\n{from_yaml:#?}");
    let (plain, used) = load_sources(&files, None).expect("load");
    assert_eq!(used, ArtifactUse::Absent);
    assert!(same(&plain, &from_yaml));
    // Rules keep where they were written, for messages that name them.
    assert_eq!(
        (loaded[1].source.file.as_ref(), loaded[1].source.line),
        ("dir/a.yaml", from_yaml[1].source.line)
    );
    assert!(loaded[1].source.line > 1);
}

#[test]
fn the_example_rule_sets_compile_to_artifacts_that_load_the_same() {
    for dir in ["rules/ecommerce", "rules/iot"] {
        let (files, _) = read_dir(&repo(dir)).expect("read");
        assert!(!files.is_empty(), "{dir} has rule files");
        let (from_yaml, artifact) = compile_artifact(&files).expect("compile");
        let (loaded, used) = load_sources(&files, Some(&artifact)).expect("load");
        assert_eq!(used, ArtifactUse::Used, "{dir}");
        assert!(same(&loaded, &from_yaml), "{dir}");
    }
}

#[test]
fn a_stale_artifact_falls_back_to_the_yaml() {
    let files = sources(&[("a.yaml", EVERY_CONSTRUCT), ("b.yaml", "rules: []\n")]);
    let (_, artifact) = compile_artifact(&files).expect("compile");
    let stale = |files: &[RuleSource], artifact: &str, expected: &str| {
        let (rules, used) = load_sources(files, Some(artifact)).expect("load");
        let ArtifactUse::Stale(reason) = used else {
            panic!("{used:?} for {expected}")
        };
        assert!(reason.contains(expected), "{reason}");
        let (yaml, _) = load_sources(files, None).expect("yaml");
        assert!(same(&rules, &yaml), "the YAML's rules, not the artifact's");
    };

    // An edited file: the edit is what loads.
    let mut edited = files.clone();
    edited[0].text = EVERY_CONSTRUCT.replace("ttl_seconds: 600", "ttl_seconds: 900");
    stale(&edited, &artifact, "a.yaml changed since it was compiled");
    let (rules, _) = load_sources(&edited, Some(&artifact)).expect("load");
    assert!(format!("{rules:?}").contains("900"));

    // A file added, removed or renamed.
    let mut added = files.clone();
    added.push(sources(&[("c.yaml", "rules: []\n")]).remove(0));
    stale(&added, &artifact, "compiled from [a.yaml, b.yaml]");
    stale(&files[..1], &artifact, "the rule files are [a.yaml]");

    // Another version, another format, or not an artifact at all.
    let other = artifact.replacen(
        &format!("\"version\":\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\":\"0.0.0-other\"",
        1,
    );
    assert_ne!(other, artifact);
    stale(&files, &other, "written by version 0.0.0-other");
    stale(&files, "{not json", "does not read");
    stale(&files, "{}", "does not read");
}

/// The files as an S3 listing knows them: name and ETag (the MD5 in hex).
fn listed(files: &[RuleSource]) -> Vec<SourceDigest> {
    files
        .iter()
        .map(|f| SourceDigest {
            name: f.name.clone(),
            md5: format!("{:x}", Md5::digest(f.text.as_bytes())),
        })
        .collect()
}

#[test]
fn the_artifact_loads_from_the_files_md5s_without_their_text() {
    let files = sources(&[("a.yaml", EVERY_CONSTRUCT), ("b.yaml", "rules: []\n")]);
    let (from_yaml, artifact) = compile_artifact(&files).expect("compile");
    // What `aws s3 cp` of that file gets as its ETag.
    assert!(
        artifact.contains(r#""md5":"21d1df84c53adeea86ecd80921117ad4""#),
        "{artifact}"
    );
    let read = || read_artifact(&artifact, |name| format!("dir/{name}")).expect("read");
    assert_eq!(read().md5_mismatch(&listed(&files)), None);
    let loaded = read().into_rules();
    assert!(same(&loaded, &from_yaml), "{loaded:#?}\n{from_yaml:#?}");
    assert_eq!(loaded[1].source.file.as_ref(), "dir/a.yaml");

    let refused = |digests: &[SourceDigest], expected: &str| {
        let reason = read().md5_mismatch(digests).expect(expected);
        assert!(reason.contains(expected), "{reason}");
    };
    let mut edited = listed(&files);
    edited[1].md5 = format!("{:x}", Md5::digest(b"rules: []\n\n"));
    refused(&edited, "b.yaml changed since it was compiled");
    // A multipart upload's ETag is no MD5 of the file: never a match.
    let mut multipart = listed(&files);
    multipart[0].md5 = format!("{}-2", multipart[0].md5);
    refused(&multipart, "a.yaml changed since it was compiled");
    refused(&listed(&files[..1]), "the rule files are [a.yaml]");
    let mut renamed = listed(&files);
    renamed[1].name = "c.yaml".into();
    refused(&renamed, "the rule files are [a.yaml, c.yaml]");
}

#[test]
fn a_broken_yaml_file_is_an_error_with_or_without_an_artifact() {
    let files = sources(&[("a.yaml", EVERY_CONSTRUCT)]);
    let (_, artifact) = compile_artifact(&files).expect("compile");
    let mut broken = files.clone();
    broken[0].text =
        "rules:\n  - name: x\n    condition: {field: a, eqq: 1}\n    action: {type: deny}\n".into();
    let err = load_sources(&broken, Some(&artifact)).expect_err("broken");
    assert_eq!(
        (err.location.file.as_ref(), err.location.line),
        ("dir/a.yaml", 3)
    );
    let err = compile_artifact(&broken).expect_err("no artifact for a broken file");
    assert_eq!(err.location.line, 3);
}

/// A map whose first key is `value` looks, in JSON, like the parser's own
/// located-value form; the artifact is checked on the way out, so such a
/// rule set either reads back exactly or gets no artifact.
#[test]
fn a_value_key_is_never_misread() {
    let text = "rules:\n  - name: m\n    condition: {field: action.tenant, eq: t}\n    action:\n      type: modify\n      changes: {value: 5}\n";
    let files = sources(&[("a.yaml", text)]);
    let (yaml, _) = load_sources(&files, None).expect("yaml");
    let (compiled, artifact) = compile_artifact(&files).expect("compile");
    assert!(same(&compiled, &yaml));
    let (loaded, used) = load_sources(&files, Some(&artifact)).expect("load");
    assert_eq!(used, ArtifactUse::Used);
    assert!(same(&loaded, &yaml), "{loaded:?}");
}
