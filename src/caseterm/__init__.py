"""caseterm: a keyboard-first terminal workstation for the case-to-resolution process.

Keep this module free of imports: every entry point (the CLI, the TUI, the server)
imports it first, and start-up time is a feature.
"""

__version__ = "0.1.0"
