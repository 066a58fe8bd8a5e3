"""The OpenAPI description at /api/openapi.json matches what the API really answers."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from exam import schemas
from exam.timing import FixedClock
from tests.exam.factories import OPENS, Exam
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.settings import Settings


@pytest.fixture
def app(settings: Settings) -> Starlette:
    from web.app import create_app

    return create_app(settings, clock=FixedClock(OPENS + timedelta(minutes=1)))


@pytest.mark.asyncio
async def test_the_description_lists_every_exam_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/time",
        "/api/registrations/{registration_id}/attempt",
        "/api/attempts/{attempt_id}",
        "/api/attempts/{attempt_id}/parts/next",
        "/api/parts/{part_id}/answers/{item_version_id}/{question_id}",
        "/api/parts/{part_id}/flags/{item_version_id}",
        "/api/parts/{part_id}/oral/{item_version_id}/{question_id}/start",
        "/api/parts/{part_id}/oral/{item_version_id}/{question_id}/stop",
        "/api/parts/{part_id}/oral",
        "/api/parts/{part_id}/submit",
        "/api/parts/{part_id}/clock",
        "/api/registrations/{registration_id}/live",
        "/api/registrations/{registration_id}/events",
        "/api/parts/{part_id}/recording/{index}",
        "/api/parts/{part_id}/recording/finish",
        "/api/registrations/{registration_id}/messages",
        "/api/registrations/{registration_id}/messages/read",
        "/proctor/registrations/{registration_id}/watch",
        "/api/grading/queue",
        "/api/grading/claims",
        "/api/grading/scripts/{code}",
        "/api/grading/scripts/{code}/marks",
        "/api/grading/scripts/{code}/submit",
        "/api/grading/reconciliations",
        "/api/grading/reconciliations/{code}",
    }
    for path in document["paths"].values():
        for operation in path.values():
            for response in operation["responses"].values():
                if "content" not in response:
                    continue  # 204: nothing to describe
                reference = response["content"]["application/json"]["schema"]["$ref"]
                assert reference.rsplit("/", 1)[1] in document["components"]["schemas"]


@pytest.mark.asyncio
async def test_real_answers_fit_the_described_schemas(
    client: httpx.AsyncClient, exam: Exam
) -> None:
    schemas.ServerTime.model_validate((await client.get("/api/time")).json())
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/")}
    started = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    attempt_id = schemas.AttemptStarted.model_validate(started.json()).attempt_id
    part = schemas.PartStarted.model_validate(
        (await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)).json()
    )
    state = schemas.AttemptState.model_validate(
        (await client.get(f"/api/attempts/{attempt_id}")).json()
    )
    item = next(i for i in state.items if i.questions[0].type == "single_choice")
    saved = await client.put(
        f"/api/parts/{part.id}/answers/{item.item_version_id}/{item.questions[0].id}",
        json={"sequence": 1, "value": item.questions[0].choices[0].id},
        headers=headers,
    )
    schemas.SaveResult.model_validate(saved.json())
    bad = await client.put(
        f"/api/parts/{part.id}/answers/{item.item_version_id}/{item.questions[0].id}",
        json={"sequence": "x", "value": None},
        headers=headers,
    )
    assert bad.status_code == 400
    schemas.ErrorBody.model_validate(bad.json())
    flagged = await client.put(
        f"/api/parts/{part.id}/flags/{item.item_version_id}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    schemas.FlagResult.model_validate(flagged.json())
    schemas.PartClock.model_validate((await client.get(f"/api/parts/{part.id}/clock")).json())
    receipt = await client.post(f"/api/parts/{part.id}/submit", headers=headers)
    schemas.Receipt.model_validate(receipt.json())
