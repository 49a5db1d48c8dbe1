"""GDPR rights and records: subject access (Art. 15), erasure (Art. 17), register of processing (Art. 30)."""
