"""The tamper-evident audit trail: hash-chained events, Merkle-tree checkpoints, verification, retention.

Wiring: ``store = AuditStore(database, load_keys(settings.audit, settings.data_dir),
sqlite_full_sync=settings.audit.sqlite_full_sync)``; ``AuditSink(store)`` is the request path's durable
event sink; ``Checkpointer(store, settings.audit, configured_exporters(settings.audit))`` signs
checkpoints (call ``maybe_checkpoint`` periodically, off the event loop). Modules: ``canonical`` (what a
leaf commits to), ``merkle`` (tree and proofs), ``store`` and ``sql`` (appends), ``sink``,
``checkpoints`` and ``exports``, ``verify``, ``proofs``, ``verify_proof`` (the independent checker),
``retention`` (purge) and ``query`` (reading for people).
"""
