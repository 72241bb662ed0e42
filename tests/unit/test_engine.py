"""The engine on its own: order, bounds, keys, stopping, deadlines. No sleeps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiobatch._engine import Plan, Stop, plan_of, run_all
from aiobatch._exceptions import DeadlineExceededError as DeadlineError
from aiobatch._exceptions import RecordSkippedError as SkippedError
from tests.concurrency import wait_all_tasks_blocked


def as_error(index: int, item: Any, exc: Exception) -> Any:
    return ("fail", exc)


def as_value(index: int, item: Any, value: Any) -> Any:
    return value


class Gate:
    """Items block until released one by one, in an order the test picks."""

    def __init__(self, count: int) -> None:
        self.events = [asyncio.Event() for _ in range(count)]
        self.started: list[int] = []
        self.running = 0
        self.peak = 0

    async def step(self, item: int) -> tuple[str, Any]:
        self.started.append(item)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.events[item].wait()
        finally:
            self.running -= 1
        return ("ok", item)


async def test_results_in_input_order_and_bound_respected() -> None:
    gate = Gate(10)
    task = asyncio.create_task(
        run_all(list(range(10)), gate.step, as_value, as_error, Plan(concurrency=4))
    )
    await wait_all_tasks_blocked()
    assert gate.started == [0, 1, 2, 3]
    for item in reversed(range(10)):
        gate.events[item].set()
    results = await task
    assert results == [("ok", i) for i in range(10)]
    assert gate.peak == 4


async def test_keys_run_one_at_a_time_and_others_overtake() -> None:
    keys = ["a", "a", "b", None, "a"]
    gate = Gate(5)
    task = asyncio.create_task(
        run_all(list(range(5)), gate.step, as_value, as_error, Plan(concurrency=10, keys=keys))
    )
    await wait_all_tasks_blocked()
    assert gate.started == [0, 2, 3]  # 1 waits for 0, 4 waits for 1
    gate.events[0].set()
    await wait_all_tasks_blocked()
    assert gate.started == [0, 2, 3, 1]
    gate.events[1].set()
    await wait_all_tasks_blocked()
    assert gate.started == [0, 2, 3, 1, 4]
    for event in gate.events:
        event.set()
    assert [r[1] for r in await task] == [0, 1, 2, 3, 4]


async def test_concurrency_one_with_keys_is_input_order() -> None:
    order: list[int] = []

    async def step(item: int) -> int:
        order.append(item)
        await asyncio.sleep(0)
        return item

    await run_all(
        list(range(6)), step, as_value, as_error, Plan(concurrency=1, keys=list("abcabc"))
    )
    assert order == list(range(6))


async def test_stop_batch_starts_nothing_after_a_failure() -> None:
    async def step(item: int) -> int:
        if item == 2:
            raise ValueError("two")
        return item

    results = await run_all(
        list(range(5)), step, as_value, as_error, Plan(concurrency=1, stop=Stop.BATCH)
    )
    assert results[:2] == [0, 1]
    assert isinstance(results[2][1], ValueError)
    assert all(isinstance(r[1], SkippedError) for r in results[3:])


async def test_stop_key_skips_only_that_key() -> None:
    async def step(item: int) -> int:
        if item == 1:
            raise ValueError("one")
        return item

    keys = ["a", "b", "a", "b", "c"]
    results = await run_all(
        list(range(5)), step, as_value, as_error, Plan(concurrency=3, keys=keys, stop=Stop.KEY)
    )
    assert results[0] == 0
    assert results[2] == 2
    assert results[4] == 4
    assert isinstance(results[1][1], ValueError)
    assert isinstance(results[3][1], SkippedError)


async def test_deadline_cancels_running_and_fails_unstarted() -> None:
    gate = Gate(6)
    gate.events[0].set()
    gate.events[1].set()  # 0 and 1 finish at once; 2 and 3 block until cancelled
    loop = asyncio.get_running_loop()
    plan = Plan(concurrency=2, deadline=loop.time() + 0.2, deadline_text="too late")
    results = await run_all(list(range(6)), gate.step, as_value, as_error, plan)
    assert results[:2] == [("ok", 0), ("ok", 1)]
    assert all(isinstance(r[1], DeadlineError) for r in results[2:])
    assert str(results[2][1]) == "too late"
    assert gate.started == [0, 1, 2, 3]
    assert gate.running == 0  # the blocked ones were cancelled, not left behind


async def test_deadline_in_the_past_starts_nothing() -> None:
    gate = Gate(3)
    plan = Plan(concurrency=3, deadline=asyncio.get_running_loop().time() - 1)
    results = await run_all(list(range(3)), gate.step, as_value, as_error, plan)
    assert gate.started == []
    assert all(isinstance(r[1], DeadlineError) for r in results)


async def test_item_timeout_cancels_only_slow_items() -> None:
    never = asyncio.Event()

    async def step(item: int) -> int:
        if item % 2:
            await never.wait()
        return item

    results = await run_all(
        list(range(4)), step, as_value, as_error, Plan(concurrency=4, item_timeout=0.01)
    )
    assert results[0] == 0
    assert results[2] == 2
    for slow in (1, 3):
        assert isinstance(results[slow][1], TimeoutError)
        assert "record_timeout=0.01" in str(results[slow][1])


async def test_handlers_own_timeout_error_is_its_own() -> None:
    async def step(item: int) -> int:
        raise TimeoutError("upstream")

    results = await run_all([0], step, as_value, as_error, Plan(concurrency=1, item_timeout=10))
    assert str(results[0][1]) == "upstream"


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    groups=st.lists(st.sampled_from("abc"), min_size=1, max_size=12),
    concurrency=st.integers(1, 5),
    skip_group=st.booleans(),
)
def test_group_order_invariant(
    data: st.DataObject, groups: list[str], concurrency: int, skip_group: bool
) -> None:
    """Whatever fails and whatever order things finish in: within a group, items run
    one at a time in input order, and nothing is reported a success after an earlier
    item of its group failed; with Stop.BATCH nothing starts after the first failure."""
    count = len(groups)
    fails = data.draw(st.sets(st.integers(0, count - 1)))
    yields = data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    stop = Stop.KEY if skip_group else Stop.BATCH

    async def main() -> list[Any]:
        running: set[str] = set()
        log: list[int] = []
        first_failure_done: list[int] = []

        async def step(item: int) -> int:
            group = groups[item]
            assert group not in running
            if not skip_group:
                assert not first_failure_done, "started after a failure"
            running.add(group)
            log.append(item)
            for _ in range(yields[item]):
                await asyncio.sleep(0)
            running.discard(group)
            if item in fails:
                first_failure_done.append(item)
                raise ValueError(item)
            return item

        results = await run_all(
            list(range(count)),
            step,
            as_value,
            as_error,
            Plan(concurrency=concurrency, keys=groups, stop=stop),
        )
        for group in set(groups):
            members = [i for i in range(count) if groups[i] == group]
            assert [i for i in log if groups[i] == group] == sorted(
                i for i in log if groups[i] == group
            )
            failed = False
            for i in members:
                if failed:
                    assert results[i] != i
                if results[i] != i:
                    failed = True
        return results

    results = asyncio.run(main())
    assert len(results) == count
    for i, result in enumerate(results):
        assert result == i or isinstance(result[1], ValueError | SkippedError)
        if i in fails:
            assert result != i


async def test_base_exception_propagates_as_itself() -> None:
    class Boom(BaseException):
        pass

    async def step(item: int) -> int:
        if item == 3:
            raise Boom
        await asyncio.sleep(0)
        return item

    with pytest.raises(Boom):
        await run_all(list(range(8)), step, as_value, as_error, Plan(concurrency=3))


@pytest.mark.parametrize("keys", [None, ["a", "b", "c", "d"] * 25])
async def test_steps_that_never_wait_run_in_the_callers_task_alone(
    keys: list[str] | None,
) -> None:
    caller = asyncio.current_task()
    tasks: set[Any] = set()

    async def step(item: int) -> int:
        tasks.add(asyncio.current_task())
        return item

    before = len(asyncio.all_tasks())
    results = await run_all(list(range(100)), step, as_value, as_error, Plan(50, keys))
    assert results == list(range(100))
    assert tasks == {caller}
    assert len(asyncio.all_tasks()) == before  # no worker task was left behind


async def test_workers_are_added_while_every_worker_waits_up_to_the_bound() -> None:
    gate = Gate(12)
    tasks: set[Any] = set()

    async def step(item: int) -> tuple[str, Any]:
        tasks.add(asyncio.current_task())
        return await gate.step(item)

    task = asyncio.create_task(run_all(list(range(12)), step, as_value, as_error, Plan(5)))
    await wait_all_tasks_blocked()
    assert gate.started == [0, 1, 2, 3, 4]  # one more each time all were waiting
    assert gate.peak == 5
    for event in gate.events:
        event.set()
    assert await task == [("ok", i) for i in range(12)]
    assert len(tasks) == 5
    assert gate.peak == 5


def test_plan_of_is_plan_built_by_position() -> None:
    fields: tuple[Any, ...] = tuple(f"field {i}" for i in range(len(Plan._fields)))
    made = plan_of(fields)
    assert type(made) is Plan
    assert made == Plan(*fields)
    assert made._asdict() == dict(zip(Plan._fields, fields, strict=True))
