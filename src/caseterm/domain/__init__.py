"""Pure business rules: no I/O, no database, no clock of their own (DESIGN.md section 1)."""
