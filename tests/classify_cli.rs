//! The classifier's command line: deterministic training, eval --json, classify --json,
//! and bad input reported by file and line.

use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn sendguard(args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sendguard"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs `sendguard` with `args`, which must succeed (its stderr is the failure message),
/// and reads its standard output as one JSON value (`eval --json`, one `classify` line).
fn json_of(args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let output = sendguard(args, stdin);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `sendguard classify --json` on `input`: one JSON object per message.
fn classify_json(input: &str) -> Vec<serde_json::Value> {
    let output = sendguard(&["classify", "--json"], Some(input));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The ids of the rules among a verdict's reasons.
fn rule_ids(line: &serde_json::Value) -> Vec<String> {
    line["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "rule")
        .map(|r| {
            r["id"]
                .as_str()
                .expect("a rule reason names its rule")
                .to_string()
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const TRAIN: &str = "datasets/linkedin/train.tsv";
const TEST: &str = "datasets/linkedin/test.tsv";

#[test]
fn training_twice_on_the_same_data_writes_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.sgnb"), dir.path().join("b.sgnb"));
    for out in [&a, &b] {
        let output = sendguard(&["train", "--data", TRAIN, "--out", path(out)], None);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (a_bytes, b_bytes) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(a_bytes.len() > 1000);
    assert_eq!(a_bytes, b_bytes, "retraining changed the model bytes");
    // A different seed changes only the cross-validated thresholds, and so the bytes.
    let c = dir.path().join("c.sgnb");
    sendguard(
        &["train", "--data", TRAIN, "--out", path(&c), "--seed", "7"],
        None,
    );
    assert_ne!(std::fs::read(&c).unwrap(), a_bytes);
}

/// `train` says how its NBSVM turns a decision score into the probability reviewers read
/// (a rising sigmoid); Naive Bayes has no such step and prints none.
#[test]
fn train_prints_the_probability_calibration_of_an_nbsvm() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.sgnb");
    let stderr = |extra: &[&str]| {
        let mut args = vec!["train", "--data", TRAIN, "--out", path(&out)];
        args.extend_from_slice(extra);
        let output = sendguard(&args, None);
        assert!(output.status.success());
        String::from_utf8(output.stderr).unwrap()
    };
    let printed = stderr(&[]);
    let slope: f64 = printed
        .split("P(spam) = sigmoid(")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|slope| slope.parse().ok())
        .unwrap_or_else(|| panic!("no calibration line in {printed}"));
    assert!(slope > 0.0, "{printed}");
    assert!(!stderr(&["--kind", "naive-bayes"]).contains("P(spam)"));
}

/// `train` reads link shapes by default and records it in the file; `--link-shapes false`
/// (the shipped model's command) leaves both the features and the option out, so files
/// written before the option existed retrain to the same bytes.
#[test]
fn link_shapes_are_trained_by_default_and_left_out_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let train = |out: &Path, extra: &[&str]| {
        let data = "datasets/sms_proxy/a.tsv";
        let mut args = vec!["train", "--data", data, "--out", path(out)];
        args.extend_from_slice(extra);
        let output = sendguard(&args, None);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(out).unwrap()
    };
    let holds = |bytes: &[u8], needle: &str| {
        bytes
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    let reading = train(&dir.path().join("with.sgnb"), &[]);
    assert!(holds(&reading, "\"link_shapes\":true"));
    assert!(
        holds(&reading, "link:."),
        "no link-shape feature was learned"
    );
    let blind = train(
        &dir.path().join("without.sgnb"),
        &["--link-shapes", "false"],
    );
    assert!(!holds(&blind, "link_shapes"));
    assert!(!holds(&blind, "link:"));
}

/// The defaults generalize across text messages written apart: trained on `b.tsv`,
/// scored on `c.tsv`, whose lengths overlap as in real traffic (`models/MODEL.md`:
/// MultinomialNB 0.966 on this pair, sendguard 0.970; 0.956 with the earlier prior
/// strength of 8, and 0.675 with a calibration that read length as evidence of spam,
/// tried and not kept).
#[test]
fn default_options_carry_over_to_text_messages_written_apart() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("b.sgnb");
    let train = [
        "train",
        "--data",
        "datasets/sms_proxy/b.tsv",
        "--out",
        path(&model),
    ];
    assert!(sendguard(&train, None).status.success());
    let eval = [
        "eval",
        "--model",
        path(&model),
        "--data",
        "datasets/sms_proxy/c.tsv",
        "--json",
    ];
    let output = sendguard(&eval, None);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let (mcc, fp) = (
        report["mcc"].as_f64().unwrap(),
        report["fp"].as_u64().unwrap(),
    );
    assert!(mcc > 0.96 && fp <= 4, "{report}");
}

/// Options a model file could not carry (NaN, infinities, no smoothing) or that mean
/// nothing (a negative cost, β above 1) are refused before anything is written.
#[test]
fn training_options_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.sgnb");
    for (option, value) in [
        ("--alpha", "0"),
        ("--alpha", "-1"),
        ("--alpha", "NaN"),
        ("--alpha", "lots"),
        ("--svm-cost", "NaN"),
        ("--svm-cost", "-1"),
        ("--svm-cost", "0"),
        ("--svm-cost", "inf"),
        ("--interpolation", "5"),
        ("--interpolation", "NaN"),
        ("--prior-strength", "0"),
        ("--unknown-weight", "-2"),
        ("--hold-fpr", "1.5"),
        ("--length-norm", "-1"),
    ] {
        let given = format!("{option}={value}");
        let output = sendguard(
            &["train", "--data", TRAIN, "--out", path(&out), &given],
            None,
        );
        assert!(!output.status.success(), "{given} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(option), "{given}: {stderr}");
        assert!(!out.exists(), "{given} wrote a model");
    }
    // Two rows leave nothing over --min-count: the model is written, with a warning.
    let tiny = dir.path().join("tiny.tsv");
    std::fs::write(
        &tiny,
        "label\ttext\nspam\twin cash now\nham\thello friend\n",
    )
    .unwrap();
    let output = sendguard(&["train", "--data", path(&tiny), "--out", path(&out)], None);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("learned no features"), "{stderr}");
    std::fs::remove_file(&out).unwrap();
    // The edges of each range are taken.
    let output = sendguard(
        &[
            "train",
            "--data",
            TRAIN,
            "--out",
            path(&out),
            "--interpolation=1",
            "--unknown-weight=0",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("learned no features"), "{stderr}");
}

#[test]
fn eval_json_reports_every_figure_and_a_corrupt_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.sgnb");
    sendguard(&["train", "--data", TRAIN, "--out", path(&model)], None);
    let report = json_of(
        &["eval", "--model", path(&model), "--data", TEST, "--json"],
        None,
    );
    for key in [
        "n",
        "spam",
        "ham",
        "tp",
        "fp",
        "tn",
        "fn",
        "accuracy",
        "precision",
        "recall",
        "fpr",
        "f1",
        "mcc",
        "auc",
        "recall_at_1pct_fpr",
        "msgs_per_sec",
    ] {
        assert!(
            report.get(key).is_some(),
            "eval --json lacks {key}: {report}"
        );
    }
    let n = report["n"].as_u64().unwrap();
    let counted: u64 = ["tp", "fp", "tn", "fn"]
        .iter()
        .map(|k| report[k].as_u64().unwrap())
        .sum();
    assert_eq!(n, counted);
    assert!(report["auc"].as_f64().unwrap() > 0.8, "{report}");

    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    let corrupt = dir.path().join("corrupt.sgnb");
    std::fs::write(&corrupt, bytes).unwrap();
    let output = sendguard(&["eval", "--model", path(&corrupt), "--data", TEST], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("corrupt.sgnb") && stderr.contains("checksum"),
        "{stderr}"
    );
}

/// `eval`'s default decision, "spam is the likelier class", agrees with the probability
/// `classify` reports for the same model: a message counts as spam exactly when its score
/// is above one half. On short text messages, trained on a small half, the SVM's own zero
/// lay far on the ham side and left half the spam below it.
#[test]
fn eval_argmax_counts_the_messages_classify_scores_above_one_half() {
    const SMS_TRAIN: &str = "datasets/sms_proxy/a.tsv";
    const SMS_TEST: &str = "datasets/sms_proxy/b.tsv";
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.sgnb");
    let output = sendguard(&["train", "--data", SMS_TRAIN, "--out", path(&model)], None);
    assert!(output.status.success());
    let output = sendguard(
        &[
            "eval",
            "--model",
            path(&model),
            "--data",
            SMS_TEST,
            "--json",
        ],
        None,
    );
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["recall"].as_f64().unwrap() > 0.85, "{report}");
    let test =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SMS_TEST)).unwrap();
    let output = sendguard(
        &["classify", "--model", path(&model), "--json"],
        Some(&test),
    );
    assert!(output.status.success());
    let labels: Vec<bool> = test
        .lines()
        .skip(1)
        .map(|l| l.starts_with("spam\t"))
        .collect();
    let scores: Vec<f64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["score"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(scores.len(), labels.len());
    let above = |spam: bool| {
        labels
            .iter()
            .zip(&scores)
            .filter(|(label, score)| **label == spam && **score > 0.5)
            .count() as u64
    };
    assert_eq!(
        (report["tp"].as_u64(), report["fp"].as_u64()),
        (Some(above(true)), Some(above(false))),
        "{report}"
    );
}

#[test]
fn eval_on_several_threads_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.sgnb");
    sendguard(&["train", "--data", TRAIN, "--out", path(&model)], None);
    let eval = |threads: &str| {
        sendguard(
            &[
                "eval",
                "--model",
                path(&model),
                "--data",
                TEST,
                "--threads",
                threads,
                "--json",
            ],
            None,
        )
    };
    let report = |threads: &str| -> serde_json::Value {
        let output = eval(threads);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let (one, three) = (report("1"), report("3"));
    assert_eq!(one["threads"], 1);
    assert_eq!(three["threads"], 3);
    for report in [&one, &three] {
        let passes = report["timing_passes"].as_u64().unwrap();
        assert!((1..=5).contains(&passes), "{report}");
        assert!(report["msgs_per_sec"].as_f64().unwrap() > 0.0);
    }
    // Every figure but the timing is the same whatever the thread count.
    for key in ["tp", "fp", "tn", "fn", "mcc", "auc", "recall_at_1pct_fpr"] {
        assert_eq!(one[key], three[key], "{key}");
    }
    assert_eq!(one["at_hold_threshold"], three["at_hold_threshold"]);

    let output = eval("many");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--threads"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn classify_json_answers_one_object_per_message_in_order() {
    let input = "spam\tYour account will be suspended. Verify your account now at http://linkedln-security.com/verify\nThanks for the intro to your colleague, I will reach out this week\n\nham\tCongrats on the new role!\n";
    let lines = classify_json(input);
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["n"].as_u64(), Some(i as u64 + 1));
        assert!(line["score"]
            .as_f64()
            .is_some_and(|s| (0.0..=1.0).contains(&s)));
        assert!(line["reasons"].is_array());
    }
    assert_eq!(lines[0]["decision"], "held");
    assert_eq!(lines[0]["spam"], true);
    assert_eq!(lines[1]["spam"], false);
    assert_eq!(lines[2]["spam"], false);
}

/// What the shipped model knows little about (a lone emoji, a short greeting or thanks, a
/// language it was not trained on) is never held on the classifier's word: it abstains or
/// stays quiet, and no classifier reason holds the message.
#[test]
fn the_shipped_model_never_holds_what_it_knows_little_about() {
    let messages = [
        "🙏",
        "thanks 🙏",
        "merci beaucoup 🙏",
        "hello there",
        "Great to meet you 👋🙂",
        "Kiitos paljon avustasi, nähdään huomenna toimistolla ja käydään sopimus läpi",
        "Diolch yn fawr am y cyfarfod ddoe, mi anfonaf y cytundeb atoch yfory",
        "Asante sana kwa msaada wako, tutaonana kesho ofisini",
    ];
    let lines = classify_json(&messages.join("\n"));
    assert_eq!(lines.len(), messages.len());
    for (message, line) in messages.iter().zip(&lines) {
        assert_ne!(line["decision"], "held", "{message:?}: {line}");
        let reasons = line["reasons"].as_array().unwrap();
        assert!(
            !reasons
                .iter()
                .any(|r| r["source"] == "classifier" && r["id"] == "spam_hold"),
            "{message:?}: {line}"
        );
    }
}

/// Issue #20's ordinary messages, sent by a connection through the whole pipeline, stay in
/// the Inbox: greetings without a name ("Hello there, how are you?" was held on round
/// sixteen's model, whose training ham opened with names) and a colleague's plain note.
/// The same opener before a pitch and a request to move to WhatsApp is still held.
#[test]
fn a_connections_greeting_without_a_name_stays_in_the_inbox() {
    let ordinary = [
        "hello there",
        "Hello there, how are you?",
        "Great to meet you 👋🙂",
        "Sending you the contract for signature today.",
        "thanks 🙏",
        "merci beaucoup 🙏",
    ];
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("greetings.tsv");
    let mut rows = String::from("label\ttext\tcategory\tlang\n");
    for text in ordinary {
        rows.push_str(&format!("ham\t{text}\tgreeting\ten\n"));
    }
    rows.push_str(
        "spam\tHello there, how are you? I run a private investment group paying 30% a month, \
         message me on WhatsApp to join\tinvestment_tips\ten\n",
    );
    std::fs::write(&data, rows).unwrap();
    let report = json_of(
        &["eval", "--data", path(&data), "--by", "summary", "--json"],
        None,
    );
    let overview = &report["overview"];
    assert_eq!(overview["ham"], json!(ordinary.len()), "{report}");
    assert_eq!(overview["ham_held"], json!(0), "{report}");
    assert_eq!(
        overview["ham_out_of_inbox_from_connection"],
        json!(0),
        "{report}"
    );
    assert_eq!(overview["spam_plain_held"], json!(1), "{report}");
}

/// A member who warns colleagues quotes the scam: the shipped scam-warning phrases keep the
/// scam packs from firing on the quote, while the same scam sent on its own holds on them.
#[test]
fn a_quoted_scam_in_a_warning_trips_no_scam_rule() {
    let scams = [
        "You are selected for the data entry job. Pay the $150 registration fee today and start tomorrow.",
        "Earn $400 daily from home, just 2 hours on your phone, no experience needed",
    ];
    let warnings = [
        format!("Heads up: someone is messaging our candidates saying '{}'. We never charge candidates.", scams[0]),
        format!("lol someone messaged me: '{}'. block and report", scams[1]),
    ];
    let input = scams
        .iter()
        .map(|s| s.to_string())
        .chain(warnings.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    let lines = classify_json(&input);
    for line in &lines[..2] {
        assert_eq!(line["decision"], "held", "{line}");
        assert!(
            rule_ids(line).iter().any(|id| id.starts_with("scams.")),
            "{line}"
        );
    }
    for line in &lines[2..] {
        assert!(rule_ids(line).is_empty(), "{line}");
    }
}

/// A phone number is a weak sign: alone it is no reason at all (members share numbers every
/// day), beside a scam it is named with the rest.
#[test]
fn a_phone_number_counts_only_beside_another_sign() {
    let lines = classify_json(
        "Here is my number: +44 20 7946 0958, call me after 5.\n\
         Earn $400 daily from home, no experience needed. Call +44 20 7946 0958",
    );
    assert!(rule_ids(&lines[0]).is_empty(), "{}", lines[0]);
    assert_eq!(
        lines[0]["decision"], "other",
        "a stranger's message, as any"
    );
    let beside_a_scam = rule_ids(&lines[1]);
    assert!(
        beside_a_scam.contains(&"contact_harvesting.phone_number".to_string())
            && beside_a_scam.iter().any(|id| id.starts_with("scams.")),
        "{}",
        lines[1]
    );
}

/// Friends ask for each other's number in every language: the request alone names no
/// rule, and beside an excuse for leaving the platform it counts toward Other.
#[test]
fn a_number_request_counts_only_beside_another_sign() {
    let lines = classify_json(
        "Great chatting at the meetup! What's your number? I'll text you the venue.\n\
         Dame tu número y te mando la dirección del evento\n\
         方便留个手机号吗，我把会议资料发给你\n\
         I am rarely on here, what's your number?",
    );
    for line in &lines[..3] {
        assert!(rule_ids(line).is_empty(), "{line}");
    }
    let beside_an_excuse = rule_ids(&lines[3]);
    for id in [
        "contact_harvesting.number_request",
        "contact_harvesting.rarely_on_platform",
    ] {
        assert!(
            beside_an_excuse.contains(&id.to_string()),
            "{id}: {}",
            lines[3]
        );
    }
    let reasons = lines[3]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r["id"] == "rule_score_other"),
        "1.5 + 1.5 reaches the Other level: {}",
        lines[3]
    );
}

/// A word disguised with another alphabet's look-alikes or invisible characters is a
/// reason of its own and holds, where the same words written plainly do not; what
/// languages write between letters (a Latin `i` in Ukrainian, the zero-width space between
/// Thai words) is no disguise.
#[test]
fn disguised_words_hold_where_the_plain_words_do_not() {
    let lines = classify_json(
        "I saw you at the station this morning. Nice blue jacket.\n\
         I s\u{430}w y\u{43E}u \u{430}t the st\u{430}ti\u{43E}n this m\u{43E}rning. Nice blue jacket.\n\
         Drop me a line on Telegram about the project\n\
         Dr\u{43E}p me \u{430} line \u{43E}n Telegr\u{430}m \u{430}b\u{43E}ut the pr\u{43E}ject\n\
         see y\u{200B}o\u{200B}u at the gym tonight\n\
         \u{412}i\u{442}\u{430}\u{44E}! \u{414}\u{44F}\u{43A}\u{443}\u{44E} \u{437}\u{430} \u{432}i\u{434}\u{43F}\u{43E}\u{432}i\u{434}\u{44C}\n\
         \u{E2A}\u{E27}\u{E31}\u{E2A}\u{E14}\u{E35}\u{200B}\u{E04}\u{E23}\u{E31}\u{E1A}\u{200B}\u{E02}\u{E2D}\u{E1A}\u{E04}\u{E38}\u{E13}",
    );
    for (plain, disguised) in [(&lines[0], &lines[1]), (&lines[2], &lines[3])] {
        assert_ne!(plain["decision"], "held", "{plain}");
        assert!(
            !rule_ids(plain).contains(&"evasion.disguised_words".to_string()),
            "{plain}"
        );
        assert_eq!(disguised["decision"], "held", "{disguised}");
        assert!(
            rule_ids(disguised).contains(&"evasion.disguised_words".to_string()),
            "{disguised}"
        );
    }
    assert!(
        rule_ids(&lines[4]).contains(&"evasion.disguised_words".to_string()),
        "invisible characters between letters: {}",
        lines[4]
    );
    for line in &lines[5..] {
        assert!(
            !rule_ids(line).iter().any(|id| id.starts_with("evasion.")),
            "{line}"
        );
    }
}

/// Chinese and Japanese are written without spaces: a warning phrase inside a sentence
/// still marks the quoted scam as a warning's, while the scam alone trips its pack.
#[test]
fn a_scam_quoted_in_a_chinese_or_japanese_warning_trips_no_scam_rule() {
    let scams = [
        "在家兼职，日赚500元，无需经验，先交押金200元即可上岗",
        "副業で日給3万円保証！登録料5000円を振り込むだけ",
    ];
    let input = format!(
        "{}\n{}\n大家注意，这是诈骗：“{}”\n皆さん、これは詐欺です。「{}」というメッセージに注意",
        scams[0], scams[1], scams[0], scams[1]
    );
    let lines = classify_json(&input);
    for (line, pack) in lines[..2]
        .iter()
        .zip(["multilingual.zh.", "multilingual.ja."])
    {
        assert!(
            rule_ids(line).iter().any(|id| id.starts_with(pack)),
            "{line}"
        );
    }
    for line in &lines[2..] {
        assert!(rule_ids(line).is_empty(), "{line}");
    }
}

/// Quiet coercion carries no swear word: blackmail holds on its own, two quieter signs
/// (watching the recipient, a veiled threat) add up to a hold, and a colleague's ordinary
/// "send it to your manager" or "saw you at the conference" trips no harassment rule.
#[test]
fn quiet_coercion_is_held_and_colleagues_are_not() {
    let input = [
        "I recorded our video call. Pay up or your wife gets the file.",
        "Saw you at the gym this morning. Lovely family, would be a shame if something happened.",
        "I'll send the contract to your manager for signature today.",
        "Saw you at the conference yesterday, great talk on retention!",
    ]
    .join("\n");
    let lines = classify_json(&input);
    let harassment = |line: &serde_json::Value| -> Vec<String> {
        let mut ids = rule_ids(line);
        ids.retain(|id| id.starts_with("harassment."));
        ids
    };
    assert_eq!(lines[0]["decision"], "held", "{}", lines[0]);
    assert!(harassment(&lines[0]).contains(&"harassment.blackmail".to_string()));
    assert_eq!(lines[1]["decision"], "held", "{}", lines[1]);
    assert_eq!(harassment(&lines[1]).len(), 2, "{}", lines[1]);
    for line in &lines[2..] {
        assert!(harassment(line).is_empty(), "{line}");
        assert_ne!(line["decision"], "held", "{line}");
    }
}

/// A right-to-left override (a known way to disguise a link or a file name) is a reason of
/// its own, while matching sees through it: the folded keyword still matches.
#[test]
fn bidi_controls_are_a_reason_and_folded_for_matching() {
    let input = "Please open the attached invoice\u{202E}fdp.exe and verify your acc\u{202E}ount now\nPlease open the attached invoice.pdf before Friday\n";
    let lines = classify_json(input);
    let ids = |line: &serde_json::Value| -> Vec<String> {
        line["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let disguised = ids(&lines[0]);
    assert!(
        disguised.iter().any(|id| id == "phishing.bidi_control"),
        "{disguised:?}"
    );
    assert!(
        disguised
            .iter()
            .any(|id| id.starts_with("phishing.") && id != "phishing.bidi_control"),
        "the folded text still matches the phishing keywords: {disguised:?}"
    );
    assert!(!ids(&lines[1])
        .iter()
        .any(|id| id == "phishing.bidi_control"));
}

#[test]
fn stretched_or_vowelled_arabic_is_judged_as_the_plain_text() {
    // The same pitch ("guaranteed daily profits, join now"), plain, stretched with tatweel
    // and fully vowelled: Arabic is written without either, so both are free respellings.
    let plain = "أرباح مضمونة يومياً انضم الآن";
    let input =
        format!("{plain}\nأربـــاح مضـــمونة يوميـــاً انضـــم الآن\nأَرْبَاح مَضْمُونَة يَوْمِيًّا انْضَمّ الآن\n");
    let lines = classify_json(&input);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["decision"], "held", "{}", lines[0]);
    for disguised in &lines[1..] {
        assert_eq!(disguised["decision"], lines[0]["decision"], "{disguised}");
        assert_eq!(disguised["score"], lines[0]["score"], "{disguised}");
    }
}

#[test]
fn bad_training_data_is_reported_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bad.tsv");
    std::fs::write(&data, "label\ttext\nham\thello there\nmaybe\tnot a label\n").unwrap();
    let output = sendguard(
        &[
            "train",
            "--data",
            path(&data),
            "--out",
            path(&dir.path().join("m")),
        ],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.tsv:3:"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    let output = sendguard(
        &["classify", "--json"],
        Some("spam\tfine\nham\tbroken \\q escape\n"),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("stdin:2:"));
}

/// `rules scan` counts each rule's hits by label and names the ham rows it hits by line;
/// a file without rows is refused, not reported as all zeros.
#[test]
fn rules_scan_counts_hits_by_label_and_refuses_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scan.tsv");
    std::fs::write(
        &data,
        "label\ttext\n\
         spam\tYour LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify\n\
         ham\tIT here: ignore mail saying your LinkedIn account will be suspended, verify nothing at http://linkedln-security.com/verify\n\
         ham\tLunch on Thursday?\n",
    )
    .unwrap();
    let output = sendguard(&["rules", "scan", "--data", path(&data)], None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("rule\tspam_hits\tham_hits\n"),
        "{stdout}"
    );
    let hits: Vec<(u64, u64)> = stdout
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("ham hit: "))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[1].parse().unwrap(), fields[2].parse().unwrap())
        })
        .collect();
    assert!(hits.iter().any(|&(spam, _)| spam == 1), "{stdout}");
    assert!(
        hits.iter().all(|&(spam, ham)| spam <= 1 && ham <= 1),
        "{stdout}"
    );
    let ham_hits: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("ham hit: "))
        .collect();
    let ham_counted: u64 = hits.iter().map(|&(_, ham)| ham).sum();
    assert_eq!(ham_hits.len() as u64, ham_counted, "{stdout}");
    assert!(
        ham_hits.iter().all(|l| l.contains("scan.tsv:3: ")),
        "{stdout}"
    );

    let empty = dir.path().join("empty.tsv");
    std::fs::write(&empty, "label\ttext\n").unwrap();
    let output = sendguard(&["rules", "scan", "--data", path(&empty)], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("empty.tsv: no rows"));
}

#[test]
fn rules_check_passes_on_the_shipped_packs_and_names_failures() {
    let output = sendguard(&["rules", "check", "rules"], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(" 0 failed"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "category = \"t\"\n[[rule]]\nid = \"t.wrong_example\"\ndescription = \"d\"\nkeywords = [\"wire the fee\"]\naction = \"hold\"\nexamples = { match = [\"nothing like it\"], no_match = [\"please wire the fee\"] }\n",
    )
    .unwrap();
    let output = sendguard(&["rules", "check", path(dir.path())], None);
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("bad.toml: rule t.wrong_example: example \"nothing like it\" should match"),
        "{stdout}"
    );
    assert!(stdout.contains("should not match"), "{stdout}");

    std::fs::write(dir.path().join("bad.toml"), "category = \"t\"\n[[rule]]\nid = \"t.no_matcher\"\ndescription = \"d\"\naction = \"hold\"\nexamples = { match = [\"x\"] }\n").unwrap();
    let output = sendguard(&["rules", "check", path(dir.path())], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml: rule t.no_matcher: needs one matcher"),
        "{stderr}"
    );
}

/// `eval --by` runs the pipeline per group *besides* the classifier's figures, as its help
/// says: `--json` prints one object with both, and the table follows the figures.
#[test]
fn eval_by_groups_keeps_the_classifiers_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("groups.tsv");
    std::fs::write(
        &data,
        "label\ttext\tcategory\tlang\n\
         ham\tThanks for the intro, talk next week\tthanks\ten\n\
         ham\tGracias por la presentación, hablamos la próxima semana\tthanks\tes\n\
         spam\tEarn $5000 weekly from home, join my team now, DM me for the link\twork_from_home\ten\n",
    )
    .unwrap();
    let report = json_of(
        &[
            "eval",
            "--data",
            path(&data),
            "--by",
            "summary,lang",
            "--json",
        ],
        None,
    );
    assert_eq!(report["n"], 3, "{report}");
    let counted: u64 = ["tp", "fp", "tn", "fn"]
        .iter()
        .map(|k| report[k].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 3, "{report}");
    let groups = report["groups"]
        .as_array()
        .expect("groups beside the figures");
    assert!(
        groups
            .iter()
            .any(|g| g["grouping"] == "lang" && g["group"] == "es"),
        "{report}"
    );
    // The overview adds up the summary groups: two ham (one English), one plain spam.
    let overview = &report["overview"];
    assert_eq!(
        (
            &overview["ham"],
            &overview["ham_english"],
            &overview["ham_other_languages"]
        ),
        (&json!(2), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(
        (&overview["spam_plain"], &overview["spam_obfuscated"]),
        (&json!(1), &json!(0)),
        "{report}"
    );

    let output = sendguard(&["eval", "--data", path(&data), "--by", "summary"], None);
    let text = String::from_utf8_lossy(&output.stdout);
    let figures = text.find("mcc").expect("the figures");
    let table = text.find("by summary").expect("the table");
    let overall = text.find("\noverall\n").expect("the overview");
    assert!(figures < table && table < overall, "{text}");
    assert!(text.contains("plain spam held"), "{text}");
}

/// `--config` judges `classify` and `eval --by` with that file's `[policy]`, so a policy
/// change can be measured on labelled data before it serves; a bad value is refused by
/// file and key. The GTUBE test string is held by the built-in policy and not once
/// `test_pattern` is off.
#[test]
fn classify_and_eval_judge_with_a_configs_policy() {
    const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    let dir = tempfile::tempdir().unwrap();
    let no_test_pattern = dir.path().join("no_test_pattern.toml");
    std::fs::write(&no_test_pattern, "[policy]\ntest_pattern = false\n").unwrap();
    let out_of_range = dir.path().join("out_of_range.toml");
    std::fs::write(&out_of_range, "[policy]\nclassifier_veto_below = 2\n").unwrap();
    let data = dir.path().join("gtube.tsv");
    std::fs::write(
        &data,
        format!("label\ttext\nspam\t{GTUBE}\nham\tThanks for the intro, talk next week\n"),
    )
    .unwrap();

    let decision = |config: Option<&Path>| {
        let mut args = vec!["classify", "--json"];
        if let Some(config) = config {
            args.extend(["--config", path(config)]);
        }
        let line = json_of(&args, Some(&format!("{GTUBE}\n")));
        line["decision"].as_str().unwrap().to_string()
    };
    assert_eq!(decision(None), "held");
    assert_ne!(decision(Some(&no_test_pattern)), "held");

    let spam_held = |config: Option<&Path>| {
        let mut args = vec!["eval", "--data", path(&data), "--by", "summary", "--json"];
        if let Some(config) = config {
            args.extend(["--config", path(config)]);
        }
        let report = json_of(&args, None);
        report["overview"]["spam_plain_held"].clone()
    };
    assert_eq!(spam_held(None), json!(1));
    assert_eq!(spam_held(Some(&no_test_pattern)), json!(0));

    for args in [
        vec!["classify", "--config", path(&out_of_range)],
        vec![
            "eval",
            "--data",
            path(&data),
            "--by",
            "summary",
            "--config",
            path(&out_of_range),
        ],
    ] {
        let output = sendguard(&args, Some(&format!("{GTUBE}\n")));
        assert!(!output.status.success());
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("out_of_range.toml") && error.contains("classifier_veto_below"),
            "{error}"
        );
    }
}

/// A training file of one class is a mistake in the data: refused, naming the file and
/// the missing class, with nothing written.
#[test]
fn training_on_one_class_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("allham.tsv");
    std::fs::write(&data, "ham\thello there\nham\tsee you at noon\n").unwrap();
    let model = dir.path().join("m.sgnb");
    let output = sendguard(
        &["train", "--data", path(&data), "--out", path(&model)],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("allham.tsv") && stderr.contains("no spam rows"),
        "{stderr}"
    );
    assert!(!model.exists());
}
