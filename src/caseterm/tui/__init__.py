"""The Textual workstation. Imported only by ``caseterm`` (no sub-command) and ``caseterm demo``."""
