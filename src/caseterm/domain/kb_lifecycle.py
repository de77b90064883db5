"""The knowledge-article lifecycle: draft → in review → published → expired / archived.

Editing a published article makes a new draft *revision* (same KA- number) while the
published one stays visible; publishing the new revision archives the old. Only
reviewers (supervisors, admins) publish, reject, expire or archive.
"""

from __future__ import annotations

from enum import StrEnum

from caseterm.errors import TransitionError


class ArticleState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    EXPIRED = "expired"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


SUBMIT, APPROVE, REJECT, EXPIRE, ARCHIVE, REVISE = "submit", "approve", "reject", "expire", "archive", "revise"

# action -> (from states, to state)
_MOVES: dict[str, tuple[frozenset[ArticleState], ArticleState | None]] = {
    SUBMIT: (frozenset({ArticleState.DRAFT}), ArticleState.IN_REVIEW),
    APPROVE: (frozenset({ArticleState.IN_REVIEW}), ArticleState.PUBLISHED),
    REJECT: (frozenset({ArticleState.IN_REVIEW}), ArticleState.DRAFT),
    EXPIRE: (frozenset({ArticleState.PUBLISHED}), ArticleState.EXPIRED),
    ARCHIVE: (frozenset({ArticleState.DRAFT, ArticleState.PUBLISHED, ArticleState.EXPIRED}), ArticleState.ARCHIVED),
    # a published or expired article is edited through a new draft revision
    REVISE: (frozenset({ArticleState.PUBLISHED, ArticleState.EXPIRED}), None),
}
REVIEWER_ACTIONS = frozenset({APPROVE, REJECT, EXPIRE, ARCHIVE})


def allowed_actions(state: ArticleState) -> list[str]:
    return [action for action, (sources, _) in _MOVES.items() if state in sources]


def move(state: ArticleState, action: str, subject: str = "The article") -> ArticleState | None:
    """The state after ``action`` (None for REVISE: the article itself does not change)."""
    sources, target = _MOVES[action]
    if state not in sources:
        raise TransitionError(subject, state.label, action, allowed_actions(state))
    return target


def editable(state: ArticleState) -> bool:
    """Only drafts are edited in place; anything else is revised or left alone."""
    return state is ArticleState.DRAFT
