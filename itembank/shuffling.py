"""The order a candidate sees a question's options in.

A choice question with ``shuffle`` shows its options in an order of its own for each exam form:
derived from the form's seed (forms are assembled per registration), the item version and the
question, so a reload shows the same order and another candidate, on another form, most likely a
different one. Options keep their ids, so answers, receipts and scores do not depend on the order.
The order is computed, never stored: SHA-256 rather than Python's ``random`` keeps it the same
across Python versions, so it can be shown again (to the candidate or at an appeal) years later.
"""

from __future__ import annotations

import hashlib

from itembank.schemas import CandidateChoice, CandidateItem, CandidateQuestion


def _draw(key: str, below: int) -> int:
    """A number in ``range(below)`` fixed by ``key`` (the bias of the modulo is 2**-200)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest(), "big") % below


def option_order(
    choices: list[CandidateChoice], *, form_seed: int, version_id: int, question_id: str
) -> list[CandidateChoice]:
    """The options in the order this form shows them: a Fisher-Yates shuffle whose draws come
    from the form's seed, the version and the question."""
    shuffled = list(choices)
    for last in range(len(shuffled) - 1, 0, -1):
        other = _draw(f"{form_seed}:{version_id}:{question_id}:{last}", last + 1)
        shuffled[last], shuffled[other] = shuffled[other], shuffled[last]
    return shuffled


def shuffled_view(view: CandidateItem, *, form_seed: int, version_id: int) -> CandidateItem:
    """The view with the options of each question that shuffles in this form's order.

    ``view`` is left as it is (views are shared between candidates); a view with nothing to
    shuffle is returned itself."""
    if not any(question.shuffle and len(question.choices) > 1 for question in view.questions):
        return view
    questions: list[CandidateQuestion] = []
    for question in view.questions:
        if question.shuffle and len(question.choices) > 1:
            question = question.model_copy(
                update={
                    "choices": option_order(
                        question.choices,
                        form_seed=form_seed,
                        version_id=version_id,
                        question_id=question.id,
                    )
                }
            )
        questions.append(question)
    return view.model_copy(update={"questions": questions})
