"""Domain models, code validation and the rules (policies, measures catalogue) as data."""
