"""Use cases: one function per business action, ``verb_noun(uow, actor, …)``.

The only place that changes data (DESIGN.md section 1). Each function checks the rules
(domain/), writes rows, the timeline entry and the outbox op through the unit of work;
the caller's ``with store.uow() as uow:`` block is the transaction.
"""
