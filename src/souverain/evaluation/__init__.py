"""Evaluation of the citizen assistant: retrieval metrics over qrels, answer checks, report tables."""
