//! One store test suite, run against both backends: every case below is a plain function
//! over a [`Store`], and `conformance!` makes a test of it on sled (a temporary directory)
//! and on PostgreSQL (a schema of its own, migrated, dropped at the end). A behaviour one
//! backend changes without the other fails here.

mod store_common;

use sendguard::domain::{
    Actor, Appeal, AppealOutcome, AppealTarget, AuditEntry, ErasureCounts, ErasureRecord, Folder,
    Label, LabelRecord, LabelSource, Member, Message, OverturnedRestriction, Plan, Principal,
    ReportEntry, ReporterStanding, ReportsAgainst, Restriction, RestrictionLevel, ReviewItem,
    ReviewOrigin, Thread, ThreadView,
};
use sendguard::store::crypt::Sealer;
use sendguard::store::{LifecycleReader, Reader, ReviewReader, StoreError, WriteTxn};
use sendguard::Store;
use serde_json::json;
use store_common::Schema;

/// A store and what keeps it alive (the directory or the schema).
struct Subject {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<Schema>,
}

fn sled(_test: &str) -> Subject {
    let dir = tempfile::tempdir().unwrap();
    Subject {
        store: Store::open(dir.path()).unwrap(),
        _dir: Some(dir),
        _schema: None,
    }
}

fn postgres(test: &str) -> Subject {
    let schema = Schema::new(test);
    let applied = Store::migrate_postgres(&schema.settings()).unwrap();
    assert!(!applied.is_empty(), "a new schema gets every migration");
    Subject {
        store: Store::open_postgres(&schema.settings()).unwrap(),
        _dir: None,
        _schema: Some(schema),
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sled {
            $(#[test] fn $case() { super::$case(&super::sled(stringify!($case)).store); })*
        }
        mod on_postgres {
            $(#[test] fn $case() { super::$case(&super::postgres(stringify!($case)).store); })*
        }
    };
}

conformance!(
    scoped_writes_of_one_member_lose_no_update_and_general_writes_wait_for_them,
    members_handles_and_tokens,
    a_failed_write_leaves_nothing_behind,
    a_write_reads_its_own_pending_records,
    connections_and_blocks,
    threads_messages_in_send_order,
    folder_listing_newest_first_with_cursor,
    a_view_hidden_by_report_lists_nowhere_and_keeps_its_mark,
    ids_with_a_ff_byte_keep_their_own_records,
    scans_longer_than_a_page,
    counters_idempotency_and_credits,
    review_labels_and_audit,
    appeals_reports_and_sender_state,
    ids_are_fresh,
    inmail_ledgers,
    sponsored_records,
    erasure_finds_and_deletes_a_members_records,
    sealed_message_text_opens_only_with_its_key_and_rotates,
);

fn member(id: u64, handle: &str) -> Member {
    Member {
        id,
        handle: handle.into(),
        display_name: handle.into(),
        plan: Plan::Free,
        created_at: 0,
        restriction: None,
    }
}

fn message(id: u64, thread: u64, from: u64, to: u64, body: &str, at: i64) -> Message {
    serde_json::from_value(json!({
        "id": id, "thread_id": thread, "from": from, "to": to, "body": body,
        "format": "text", "kind": "message", "created_at": at, "status": "delivered",
        "verdict": {"decision": "inbox", "route": "inbox", "inmail": false, "reasons": [],
                    "score": null, "sanction": null, "automated": true},
    }))
    .unwrap()
}

fn view(member: u64, thread: u64, other: u64, placement: Folder, at: i64) -> ThreadView {
    ThreadView {
        thread_id: thread,
        member,
        other,
        placement,
        archived: false,
        last_activity: at,
        last_read: 0,
        sent_any: false,
        hidden_by_report: false,
    }
}

fn write(store: &Store, build: impl FnOnce(&mut WriteTxn<'_>)) {
    store
        .write::<_, StoreError>(|txn| {
            build(txn);
            Ok(())
        })
        .unwrap();
}

fn members_handles_and_tokens(store: &Store) {
    write(store, |txn| {
        txn.put_member(&member(2, "grace"));
        txn.put_member(&member(1, "ada"));
        txn.put_token(&[7; 32], &Principal::Member(1));
    });
    assert_eq!(store.member(1).unwrap().unwrap().handle, "ada");
    assert_eq!(store.member(3).unwrap(), None);
    assert_eq!(store.member_by_handle("grace").unwrap(), Some(2));
    assert_eq!(store.member_by_handle("linus").unwrap(), None);
    assert_eq!(
        store.principal_for_token_hash(&[7; 32]).unwrap(),
        Some(Principal::Member(1))
    );
    assert_eq!(store.principal_for_token_hash(&[8; 32]).unwrap(), None);
    let ids: Vec<u64> = store.members().map(|m| m.unwrap().id).collect();
    assert_eq!(ids, [1, 2], "members in id order");
    assert_eq!(store.member_count(), 2);
}

fn a_failed_write_leaves_nothing_behind(store: &Store) {
    let result: Result<((), _), StoreError> = store.write(|txn| {
        txn.put_member(&member(1, "ada"));
        Err(StoreError::Config("refused".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.member(1).unwrap(), None);
    assert_eq!(store.member_by_handle("ada").unwrap(), None);
    // The store still takes writes after a failed one.
    write(store, |txn| txn.put_member(&member(1, "ada")));
    assert_eq!(store.member_by_handle("ada").unwrap(), Some(1));
}

fn a_write_reads_its_own_pending_records(store: &Store) {
    write(store, |txn| txn.put_member(&member(1, "ada")));
    let (seen, _) = store
        .write::<_, StoreError>(|txn| {
            txn.put_member(&member(7, "grace"));
            txn.connect(1, 7);
            Ok((
                txn.member(7)?.map(|m| m.handle),
                txn.member(1)?.map(|m| m.handle),
                txn.connected(7, 1)?,
            ))
        })
        .unwrap();
    assert_eq!(
        seen,
        (Some("grace".into()), Some("ada".into()), true),
        "pending and committed records both visible"
    );
}

fn connections_and_blocks(store: &Store) {
    write(store, |txn| {
        txn.connect(1, 2);
        txn.set_block(3, 1, true);
    });
    assert!(store.connected(1, 2).unwrap() && store.connected(2, 1).unwrap());
    assert!(!store.connected(1, 3).unwrap());
    assert!(store.blocked(3, 1).unwrap());
    assert!(!store.blocked(1, 3).unwrap());
    assert!(store.blocked_either_way(1, 3).unwrap());
    write(store, |txn| txn.set_block(3, 1, false));
    assert!(!store.blocked_either_way(1, 3).unwrap());
}

fn threads_messages_in_send_order(store: &Store) {
    assert_eq!(store.message_id_bounds().unwrap(), None);
    write(store, |txn| {
        txn.put_thread(&Thread {
            id: 10,
            members: [1, 2],
            created_at: 5,
        });
        txn.put_message(&message(12, 10, 1, 2, "second", 20));
        txn.put_message(&message(11, 10, 2, 1, "first", 10));
        txn.put_message(&message(30, 99, 1, 3, "elsewhere", 30));
    });
    assert_eq!(store.thread_between(2, 1).unwrap(), Some(10));
    assert_eq!(store.thread_between(1, 3).unwrap(), None);
    assert_eq!(store.thread(10).unwrap().unwrap().members, [1, 2]);
    let bodies: Vec<String> = store
        .thread_messages(10)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["first", "second"]);
    let newest_first: Vec<u64> = store
        .thread_message_ids(10, true)
        .map(Result::unwrap)
        .collect();
    assert_eq!(newest_first, [12, 11]);
    // A changed message replaces the stored one.
    let mut edited = message(12, 10, 1, 2, "second", 20);
    edited.body = "changed".into();
    write(store, |txn| txn.put_message(&edited));
    assert_eq!(store.message(12).unwrap().unwrap().body, "changed");
    assert_eq!(store.message_count(), 3);
    let from_12: Vec<u64> = store
        .messages_from(12)
        .map(|m| m.unwrap().decode().unwrap().id)
        .collect();
    assert_eq!(from_12, [12, 30]);
    // Batch jobs split the ids between the first message and one past the last.
    assert_eq!(store.message_id_bounds().unwrap(), Some((11, 31)));
}

fn folder_listing_newest_first_with_cursor(store: &Store) {
    write(store, |txn| {
        txn.put_view(None, &view(1, 10, 2, Folder::Inbox, 100));
        txn.put_view(None, &view(1, 11, 3, Folder::Inbox, 300));
        txn.put_view(None, &view(1, 12, 4, Folder::Inbox, 300));
        txn.put_view(None, &view(1, 13, 5, Folder::Other, 200));
        txn.put_view(None, &view(2, 10, 1, Folder::Inbox, 100));
    });
    let page = |after, limit| -> Vec<u64> {
        store
            .folder_page(1, Folder::Inbox, after, limit)
            .unwrap()
            .into_iter()
            .map(|(v, _)| v.thread_id)
            .collect()
    };
    assert_eq!(
        page(None, 10),
        [12, 11, 10],
        "newest first, newer thread first"
    );
    let first = store.folder_page(1, Folder::Inbox, None, 2).unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(
        page(Some(first[1].1), 10),
        [10],
        "strictly after the cursor"
    );
    // Moving a thread to Other moves its folder entry.
    let previous = store.view(1, 10).unwrap().unwrap();
    let mut moved = previous.clone();
    moved.placement = Folder::Other;
    moved.last_activity = 400;
    write(store, |txn| txn.put_view(Some(&previous), &moved));
    assert_eq!(page(None, 10), [12, 11]);
    let other: Vec<u64> = store
        .folder_page(1, Folder::Other, None, 10)
        .unwrap()
        .into_iter()
        .map(|(v, _)| v.thread_id)
        .collect();
    assert_eq!(other, [10, 13]);
    write(store, |txn| txn.delete_view(&moved));
    assert_eq!(store.view(1, 10).unwrap(), None);
    let views: Vec<u64> = store.views_of(1).map(|v| v.unwrap().thread_id).collect();
    assert_eq!(views, [11, 12, 13], "a member's views in thread order");
}

/// A view hidden by its member's report keeps its record (and the mark) but lists in no
/// folder; unhidden, it lists again in its own folder.
fn a_view_hidden_by_report_lists_nowhere_and_keeps_its_mark(store: &Store) {
    let listed = |folder| -> Vec<u64> {
        store
            .folder_page(1, folder, None, 10)
            .unwrap()
            .into_iter()
            .map(|(v, _)| v.thread_id)
            .collect()
    };
    let shown = view(1, 10, 2, Folder::Other, 100);
    write(store, |txn| txn.put_view(None, &shown));
    assert_eq!(listed(Folder::Other), [10]);
    let mut hidden = shown.clone();
    hidden.hidden_by_report = true;
    write(store, |txn| txn.put_view(Some(&shown), &hidden));
    // A later delivery moves its time; the mark stays.
    let mut later = hidden.clone();
    later.last_activity = 200;
    write(store, |txn| txn.put_view(Some(&hidden), &later));
    for folder in [Folder::Inbox, Folder::Other, Folder::Archived] {
        assert!(listed(folder).is_empty(), "{folder:?}");
    }
    assert_eq!(store.view(1, 10).unwrap(), Some(later.clone()));
    let mut back = later.clone();
    back.hidden_by_report = false;
    back.placement = Folder::Inbox;
    write(store, |txn| txn.put_view(Some(&later), &back));
    assert_eq!(listed(Folder::Inbox), [10]);
    assert!(listed(Folder::Other).is_empty());
}

/// Ids whose last byte is `0xff` end the prefix of their records: a scan of member 255's
/// views must not run into member 256's.
fn ids_with_a_ff_byte_keep_their_own_records(store: &Store) {
    write(store, |txn| {
        txn.put_view(None, &view(255, 1, 9, Folder::Inbox, 10));
        txn.put_view(None, &view(256, 2, 9, Folder::Inbox, 10));
        txn.put_view(None, &view(0xffff, 3, 9, Folder::Inbox, 10));
        txn.put_view(None, &view(0x1_0000, 4, 9, Folder::Inbox, 10));
    });
    let threads = |member| -> Vec<u64> {
        store
            .views_of(member)
            .map(|v| v.unwrap().thread_id)
            .collect()
    };
    assert_eq!(threads(255), [1]);
    assert_eq!(threads(256), [2]);
    assert_eq!(threads(0xffff), [3]);
    assert_eq!(threads(0x1_0000), [4]);
}

/// More records than one page of a PostgreSQL scan, in both directions.
fn scans_longer_than_a_page(store: &Store) {
    const COUNT: u64 = 1_200;
    write(store, |txn| {
        for id in 1..=COUNT {
            txn.put_message(&message(id, 7, 1, 2, "hello", id as i64));
        }
    });
    let forward: Vec<u64> = store
        .thread_message_ids(7, false)
        .map(Result::unwrap)
        .collect();
    assert_eq!(forward, (1..=COUNT).collect::<Vec<_>>());
    let backward: Vec<u64> = store
        .thread_message_ids(7, true)
        .map(Result::unwrap)
        .collect();
    assert_eq!(backward, (1..=COUNT).rev().collect::<Vec<_>>());
    assert_eq!(store.thread_messages(7).unwrap().len(), COUNT as usize);
    assert_eq!(store.message_count(), COUNT as usize);
}

fn counters_idempotency_and_credits(store: &Store) {
    let day = 20_000 * 86_400_000;
    store.count_refusal(day + 5, "too_long").unwrap();
    store.count_refusal(day + 6, "too_long").unwrap();
    store.count_refusal(day + 86_400_000, "blocked").unwrap();
    let counts: Vec<(i64, String, u64)> = store
        .refusals(day, day + 2 * 86_400_000)
        .map(Result::unwrap)
        .map(|c| (c.day, c.reason, c.count))
        .collect();
    assert_eq!(
        counts,
        [
            (20_000, "too_long".into(), 2),
            (20_001, "blocked".into(), 1)
        ]
    );
    write(store, |txn| {
        txn.put_idempotent_send(1, "key-1", 44, &[3; 32]);
        txn.set_inmail_spent(1, 202_612, 4);
        txn.put_rescore_checkpoint("dry", &json!({"next": 9}));
    });
    assert_eq!(
        store.idempotent_send(1, "key-1").unwrap(),
        Some((44, Some([3; 32])))
    );
    assert_eq!(store.idempotent_send(2, "key-1").unwrap(), None);
    assert_eq!(store.inmail_spent(1, 202_612).unwrap(), 4);
    assert_eq!(store.inmail_spent(1, 202_611).unwrap(), 0);
    let checkpoint: Option<serde_json::Value> = store.rescore_checkpoint("dry").unwrap();
    assert_eq!(checkpoint, Some(json!({"next": 9})));
    write(store, |txn| txn.delete_rescore_checkpoint("dry"));
    let gone: Option<serde_json::Value> = store.rescore_checkpoint("dry").unwrap();
    assert_eq!(gone, None);
}

fn review_labels_and_audit(store: &Store) {
    let item = |id, message| ReviewItem {
        id,
        message_id: message,
        sender: 1,
        origin: ReviewOrigin::Held,
        report_reason: None,
        created_at: 10,
        claim: None,
        decision: None,
        withdrawn_at: None,
    };
    write(store, |txn| {
        txn.put_review_item(&item(5, 50));
        txn.put_review_item(&item(6, 60));
        txn.note_sender_hold(1, 50);
        txn.note_sender_hold(1, 60);
        txn.put_label(&LabelRecord {
            message_id: 50,
            label: Label::Spam,
            source: LabelSource::Reviewer,
            at: 20,
        });
    });
    store
        .write::<_, StoreError>(|txn| {
            txn.audit(AuditEntry::new(100, Actor::Admin, "first"))?;
            txn.audit(AuditEntry::new(200, Actor::System, "second"))?;
            txn.audit(AuditEntry::new(300, Actor::Admin, "third"))
        })
        .unwrap();
    let open: Vec<u64> = store.open_review_items().map(Result::unwrap).collect();
    assert_eq!(open, [5, 6]);
    assert_eq!(store.open_review_item_for(60).unwrap(), Some(6));
    // Withdrawn: out of the queue and of the by-message index.
    let mut closed = item(6, 60);
    closed.withdrawn_at = Some(30);
    write(store, |txn| txn.put_review_item(&closed));
    let open: Vec<u64> = store.open_review_items().map(Result::unwrap).collect();
    assert_eq!(open, [5]);
    assert_eq!(store.open_review_item_for(60).unwrap(), None);
    assert_eq!(
        store.review_item(6).unwrap().unwrap().withdrawn_at,
        Some(30)
    );
    let holds: Vec<u64> = store.sender_holds(1).map(Result::unwrap).collect();
    assert_eq!(holds, [50, 60]);
    assert_eq!(store.label(50).unwrap().unwrap().label, Label::Spam);
    assert_eq!(store.labels().count(), 1);
    let actions: Vec<String> = store
        .audit_range(150, 301)
        .map(|e| e.unwrap().action)
        .collect();
    assert_eq!(
        actions,
        ["second", "third"],
        "audit in time order, range [from, to)"
    );
}

fn ids_are_fresh(store: &Store) {
    let ids: Vec<u64> = (0..50).map(|_| store.next_id().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no id handed out twice");
    assert!(ids.iter().all(|&id| id > 0));
}

fn appeals_reports_and_sender_state(store: &Store) {
    let appeal = |id, target| Appeal {
        id,
        member: 4,
        target,
        reason: "not spam".into(),
        created_at: 10,
        outcome: None,
        decided_by: None,
        note: None,
        decided_at: None,
    };
    let on_message = AppealTarget::Message { message_id: 40 };
    let on_restriction = AppealTarget::Restriction { since: 40 };
    let restriction = Restriction {
        level: RestrictionLevel::Full,
        reason: "fan-out".into(),
        since: 40,
        automated: true,
    };
    write(store, |txn| {
        txn.put_appeal(&appeal(8, on_message.clone()));
        txn.put_appeal(&appeal(9, on_restriction.clone()));
        txn.put_reports_against(
            4,
            &ReportsAgainst {
                entries: vec![ReportEntry {
                    reporter: 5,
                    message_id: 40,
                    at: 11,
                }],
            },
        );
        txn.put_reporter_standing(
            5,
            &ReporterStanding {
                upheld: 2,
                overturned: 1,
            },
        );
        txn.put_overturned_restriction(
            4,
            &OverturnedRestriction {
                restriction: restriction.clone(),
                appeal_id: 9,
                overturned_at: 50,
            },
        );
    });
    // The same member and number, once a message and once a restriction: two targets.
    assert_eq!(store.appeal_for(4, &on_message).unwrap(), Some(8));
    assert_eq!(store.appeal_for(4, &on_restriction).unwrap(), Some(9));
    assert_eq!(store.appeal_for(5, &on_message).unwrap(), None);
    let mut decided = appeal(9, on_restriction);
    decided.outcome = Some(AppealOutcome::Overturned);
    write(store, |txn| txn.put_appeal(&decided));
    let open: Vec<u64> = store.open_appeals().map(Result::unwrap).collect();
    assert_eq!(open, [8], "a decided appeal leaves the queue");
    let all: Vec<u64> = store.appeals().map(|a| a.unwrap().id).collect();
    assert_eq!(all, [8, 9]);
    assert_eq!(store.reports_against(4).unwrap().entries.len(), 1);
    assert!(store.reports_against(5).unwrap().entries.is_empty());
    assert_eq!(store.reporter_standing(5).unwrap().upheld, 2);
    let overturned: Vec<OverturnedRestriction> = store
        .overturned_restrictions(4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(overturned.len(), 1);
    assert_eq!(overturned[0].restriction, restriction);
    assert_eq!(store.sender_state(4).unwrap(), None);
    let state = sendguard::limits::SenderState::default();
    write(store, |txn| txn.put_sender_state(4, &state));
    assert_eq!(store.sender_state(4).unwrap(), Some(state));
}

fn inmail_ledgers(store: &Store) {
    use sendguard::domain::{CreditTerms, InmailLedger, PendingRefund};
    use sendguard::store::CreditReader;
    let terms = CreditTerms {
        monthly_grant: 15,
        rollover_cap: 45,
        refund_window_ms: 90 * 86_400_000,
    };
    let mut ledger = InmailLedger::opened(202_611, 15, &terms);
    assert!(ledger.charge(PendingRefund {
        message_id: 9,
        thread_id: 8,
        recipient: 7,
        sent_at: 1_000,
        refund_until: 2_000,
    }));
    assert_eq!(store.inmail_ledger(1).unwrap(), None);
    write(store, |txn| txn.put_inmail_ledger(1, &ledger));
    assert_eq!(store.inmail_ledger(1).unwrap(), Some(ledger.clone()));
    ledger.refund_replied(8, 7, 1_500);
    write(store, |txn| txn.put_inmail_ledger(1, &ledger));
    let read = store.inmail_ledger(1).unwrap().unwrap();
    assert_eq!((read.balance, read.pending.len()), (15, 0));
    assert_eq!(store.inmail_ledger(2).unwrap(), None);
}

fn sponsored_records(store: &Store) {
    use sendguard::domain::{
        Advertiser, CallToAction, Schedule, SponsoredCampaign, SponsoredCounts, SponsoredInbox,
        SponsoredReceipt, SponsoredStatus,
    };
    use sendguard::store::SponsoredReader;
    let campaign = |id: u64, advertiser: u64| SponsoredCampaign {
        id,
        advertiser,
        name: format!("c{id}"),
        body: "Meet Acme".into(),
        cta: CallToAction {
            label: "Try".into(),
            url: "https://acme.example".into(),
        },
        targets: vec![1, 2],
        budget: 2,
        schedule: Schedule {
            starts_at: 0,
            ends_at: 10,
        },
        allow_replies: false,
        status: SponsoredStatus::Approved,
        reasons: Vec::new(),
        created_at: 5,
        sent_at: None,
        counts: SponsoredCounts::default(),
        review: None,
    };
    let mut inbox = SponsoredInbox::default();
    inbox.record(
        SponsoredReceipt {
            at: 7,
            campaign_id: 20,
            message_id: 30,
        },
        45 * 86_400_000,
    );
    inbox.opted_out = true;
    write(store, |txn| {
        txn.put_advertiser(&Advertiser {
            id: 10,
            name: "Acme".into(),
            created_at: 1,
        });
        txn.put_token(&[4; 32], &Principal::Advertiser(10));
        txn.put_sponsored_campaign(&campaign(21, 10));
        txn.put_sponsored_campaign(&campaign(20, 10));
        txn.put_sponsored_campaign(&campaign(22, 11));
        txn.put_sponsored_inbox(1, &inbox);
        txn.add_sponsored_reply(20, 51);
        txn.add_sponsored_reply(20, 50);
        txn.add_sponsored_reply(21, 52);
        txn.put_sponsored_thread(
            &Thread {
                id: 40,
                members: [1, 10],
                created_at: 7,
            },
            20,
        );
    });
    assert_eq!(store.advertiser(10).unwrap().unwrap().name, "Acme");
    assert_eq!(
        store.principal_for_token_hash(&[4; 32]).unwrap(),
        Some(Principal::Advertiser(10))
    );
    assert_eq!(
        store.sponsored_campaign(21).unwrap(),
        Some(campaign(21, 10))
    );
    let of_acme: Vec<u64> = store.advertiser_campaigns(10).map(Result::unwrap).collect();
    assert_eq!(of_acme, [20, 21]);
    let all: Vec<u64> = store.sponsored_campaigns().map(|c| c.unwrap().id).collect();
    assert_eq!(all, [20, 21, 22]);
    assert_eq!(store.sponsored_inbox(1).unwrap(), inbox);
    assert_eq!(store.sponsored_inbox(2).unwrap(), SponsoredInbox::default());
    assert_eq!(store.sponsored_thread(40).unwrap(), Some(20));
    let replies: Vec<u64> = store.sponsored_replies(20).map(Result::unwrap).collect();
    assert_eq!(replies, [50, 51]);
    assert_eq!(store.thread(40).unwrap().unwrap().members, [1, 10]);
    assert_eq!(
        store.thread_between(1, 10).unwrap(),
        None,
        "a sponsored thread is not the pair's thread"
    );
}

/// Everything keyed by member 1 goes; member 2's side of their thread, and member 3, stay.
fn erasure_finds_and_deletes_a_members_records(store: &Store) {
    use sendguard::domain::{CreditTerms, InmailLedger, SponsoredInbox};
    use sendguard::store::{CreditReader, SponsoredReader};
    let (ada, bob, cy) = (member(1, "ada"), member(2, "bob"), member(3, "cy"));
    let terms = CreditTerms {
        monthly_grant: 15,
        rollover_cap: 45,
        refund_window_ms: 90 * 86_400_000,
    };
    let ledger = InmailLedger::opened(202_612, 15, &terms);
    let opted_out = SponsoredInbox {
        opted_out: true,
        ..SponsoredInbox::default()
    };
    let report = ReportEntry {
        reporter: 1,
        message_id: 40,
        at: 11,
    };
    write(store, |txn| {
        for m in [&ada, &bob, &cy] {
            txn.put_member(m);
        }
        txn.put_token(&[1; 32], &Principal::Member(1));
        txn.put_token(&[2; 32], &Principal::Member(2));
        txn.connect(1, 2);
        txn.set_block(3, 1, true);
        txn.set_block(1, 3, true);
        txn.put_thread(&Thread {
            id: 10,
            members: [1, 2],
            created_at: 5,
        });
        txn.put_view(None, &view(1, 10, 2, Folder::Inbox, 5));
        txn.put_view(None, &view(2, 10, 1, Folder::Inbox, 5));
        txn.put_sender_state(1, &sendguard::limits::SenderState::default());
        txn.put_reports_against(
            2,
            &ReportsAgainst {
                entries: vec![report.clone()],
            },
        );
        txn.put_reporter_standing(
            1,
            &ReporterStanding {
                upheld: 1,
                overturned: 0,
            },
        );
        txn.set_inmail_spent(1, 202_612, 1);
        txn.put_idempotent_send(1, "key", 44, &[3; 32]);
        // Paid messaging keeps two records per member: the credit ledger and the
        // sponsored inbox (opt-out, receipts).
        txn.put_inmail_ledger(1, &ledger);
        txn.put_inmail_ledger(2, &ledger);
        txn.put_sponsored_inbox(1, &opted_out);
    });
    assert_eq!(store.threads_of(1).unwrap(), [10]);
    assert_eq!(store.threads_of(3).unwrap(), Vec::<u64>::new());
    assert_eq!(store.token_hashes_of(1).unwrap(), [[1; 32]]);
    assert_eq!(store.blocked_by(1).unwrap(), [3]);
    assert_eq!(store.reports_by(1).unwrap(), [(2, report)]);
    let states: Vec<u64> = store.sender_states().map(|s| s.unwrap().0).collect();
    assert_eq!(states, [1]);

    let (deleted, _) = store
        .write::<_, StoreError>(|txn| {
            for hash in store.token_hashes_of(1)? {
                txn.delete_token(&hash);
            }
            txn.erase_member_records(1)
        })
        .unwrap();
    assert!(deleted >= 10, "{deleted}");
    assert_eq!(store.member(1).unwrap(), None);
    assert_eq!(store.member_by_handle("ada").unwrap(), None);
    assert_eq!(store.principal_for_token_hash(&[1; 32]).unwrap(), None);
    assert_eq!(
        store.principal_for_token_hash(&[2; 32]).unwrap(),
        Some(Principal::Member(2))
    );
    assert!(!store.connected(2, 1).unwrap() && !store.connected(1, 2).unwrap());
    assert!(!store.blocked_either_way(1, 3).unwrap());
    assert_eq!(store.view(1, 10).unwrap(), None);
    assert!(store.view(2, 10).unwrap().is_some());
    assert_eq!(store.sender_state(1).unwrap(), None);
    assert_eq!(
        store.reporter_standing(1).unwrap(),
        ReporterStanding::default()
    );
    assert_eq!(store.inmail_spent(1, 202_612).unwrap(), 0);
    assert_eq!(store.idempotent_send(1, "key").unwrap(), None);
    assert_eq!(store.inmail_ledger(1).unwrap(), None);
    assert_eq!(store.inmail_ledger(2).unwrap(), Some(ledger));
    assert_eq!(store.sponsored_inbox(1).unwrap(), SponsoredInbox::default());
    assert_eq!(store.member(3).unwrap(), Some(cy));
    let (again, _) = store
        .write::<_, StoreError>(|txn| txn.erase_member_records(1))
        .unwrap();
    assert_eq!(again, 0, "a second pass finds nothing left");

    let record = ErasureRecord {
        member_id: 1,
        pseudonym: 77,
        requested_at: 5,
        completed_at: None,
        counts: ErasureCounts::default(),
    };
    write(store, |txn| txn.put_erasure(&record));
    assert_eq!(store.erasure(1).unwrap(), Some(record.clone()));
    assert_eq!(store.erasure(2).unwrap(), None);
    let all: Vec<ErasureRecord> = store.erasures().map(Result::unwrap).collect();
    assert_eq!(all, [record]);
}

fn keys(lines: &[(&str, u8)]) -> Option<Sealer> {
    let lines: Vec<String> = lines
        .iter()
        .map(|(id, byte)| format!("{id} {}", hex::encode([*byte; 32])))
        .collect();
    Some(Sealer::parse(&lines, "test").unwrap())
}

/// Sealed with k1: opens with k1, not without a key; after a rotation to k2 every message
/// opens with k2 alone and no longer with k1.
fn sealed_message_text_opens_only_with_its_key_and_rotates(store: &Store) {
    let k1 = store.clone().with_sealer(keys(&[("k1", 1)]));
    write(&k1, |txn| {
        for id in 1..=5 {
            txn.put_message(&message(id, 9, 1, 2, &format!("secret {id}"), id as i64));
        }
    });
    assert_eq!(k1.message(3).unwrap().unwrap().body, "secret 3");
    assert_eq!(k1.thread_messages(9).unwrap().len(), 5);
    assert!(store.message(3).is_err(), "no key: the text does not open");
    let census = k1.sealing_census().unwrap();
    assert_eq!(census.messages_by_key.get("k1"), Some(&5));
    assert_eq!(census.plaintext, 0);

    let both = store.clone().with_sealer(keys(&[("k2", 2), ("k1", 1)]));
    let first = both.reseal_batch(2).unwrap().expect("more to do");
    assert_eq!(first.resealed, 2);
    assert_eq!(both.rotation().unwrap(), Some(first));
    while both.reseal_batch(2).unwrap().is_some() {}
    assert_eq!(both.rotation().unwrap(), None);
    let census = both.sealing_census().unwrap();
    assert_eq!(census.messages_by_key.len(), 1);
    assert_eq!(census.messages_by_key.get("k2"), Some(&5));
    let k2 = store.clone().with_sealer(keys(&[("k2", 2)]));
    let bodies: Vec<String> = k2
        .thread_messages(9)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        (1..=5).map(|i| format!("secret {i}")).collect::<Vec<_>>()
    );
    assert!(k1.message(3).is_err(), "the old key alone opens nothing");
}

/// Writes scoped to their members (sends) run side by side on PostgreSQL; those sharing a
/// member must still be serialized: six threads each add 1 to member 1's credit counter 15
/// times through writes scoped to member 1 and another member (each thread a different
/// one), read-modify-write, while a general write in between adds 100. Any lost update
/// shows in the total; the other members' counters, written by one thread each, are exact.
fn scoped_writes_of_one_member_lose_no_update_and_general_writes_wait_for_them(store: &Store) {
    const THREADS: u64 = 6;
    const ROUNDS: u32 = 15;
    let month = 202_612;
    std::thread::scope(|scope| {
        for other in 10..10 + THREADS {
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    store
                        .write_for::<_, StoreError>(&[other, 1], |txn| {
                            let shared = txn.inmail_spent(1, month)?;
                            let own = txn.inmail_spent(other, month)?;
                            txn.set_inmail_spent(1, month, shared + 1);
                            txn.set_inmail_spent(other, month, own + 1);
                            Ok(())
                        })
                        .unwrap();
                }
            });
        }
        scope.spawn(|| {
            store
                .write::<_, StoreError>(|txn| {
                    let shared = txn.inmail_spent(1, month)?;
                    txn.set_inmail_spent(1, month, shared + 100);
                    Ok(())
                })
                .unwrap();
        });
    });
    assert_eq!(
        store.inmail_spent(1, month).unwrap(),
        THREADS as u32 * ROUNDS + 100,
        "no update of the shared member lost"
    );
    for other in 10..10 + THREADS {
        assert_eq!(store.inmail_spent(other, month).unwrap(), ROUNDS);
    }
}
