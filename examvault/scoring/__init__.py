"""Scoring: marking keys, responses, objective scoring, blind double marking, results."""
