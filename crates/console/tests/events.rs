//! Event reads of the console over the store's event blocks.

/// An event whose JSON block cannot be read (corrupt on disk) still opens: the row's
/// columns with a null JSON, not an error page.
#[test]
fn an_event_with_an_unreadable_block_shows_null_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let store = sluice_store::Store::open(&db).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO events (id, ts, dataset, kind, protocol, flow_id, src_ip, dst_ip, json) VALUES
             ('F0a-0', 5, 'sluice.modbus', 'event', 'modbus', 'F0a', '10.0.0.1', '10.0.0.2', '{\"a\":1}');
             UPDATE event_blocks SET codec = 1, data = x'28b52ffd0000ff';",
        )
        .unwrap();
    let e = sluice_console::data::event(store.conn(), "F0a-0")
        .unwrap()
        .expect("the event row is there");
    assert_eq!(e.summary.dataset, "sluice.modbus");
    assert_eq!(e.json, serde_json::Value::Null);
}
