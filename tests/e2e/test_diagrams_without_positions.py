"""A process whose file holds no positions for its shapes (no BPMN DI, as engines' test files and generated
processes come) is laid out in the browser: the process page, the case page and the modeler draw it and say so."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.definitions.packages import Package
from tests import samples
from tests.e2e.conftest import LiveServer, screenshot, sign_in, sign_out

LAID_OUT = "came without positions for its shapes"


def deploy_without_positions(live_app: Flask) -> int:
    """The two-step sample (no DI) deployed, and a case of it waiting at its first step; the case's id."""
    new_uow = live_app.extensions["valueflow"]
    xml = samples.two_step("unplaced")
    assert "BPMNShape" not in xml
    service.deploy(new_uow(), Package("unplaced", "unplaced.bpmn", {"unplaced.bpmn": xml}))
    return service.start_instance(new_uow(), "unplaced", service.CustomerRef("c-41", "Ada Moss", "standard"), {})


def test_the_process_page_and_the_case_page_lay_out_and_draw_a_process_without_positions(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    case_id = deploy_without_positions(live_app)
    sign_in(page, server.url, "manager")

    page.goto(f"{server.url}/processes/unplaced")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text(LAID_OUT)).to_be_visible()
    for step in ("begin", "review", "approve", "finish", "f_begin_review", "f_review_approve", "f_approve_finish"):
        expect(page.locator(f'#diagram g.djs-element[data-element-id="{step}"]')).to_have_count(1)
    expect(page.locator("#diagram")).to_contain_text("Review")
    screenshot(page, "process-page-laid-out")

    page.goto(f"{server.url}/instances/{case_id}")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.locator('#diagram g.djs-element[data-element-id="review"].vf-open')).to_have_count(1)
    expect(page.get_by_text(LAID_OUT)).to_be_visible()


def test_the_modeler_lays_out_a_process_without_positions_and_a_deploy_keeps_them(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    deploy_without_positions(live_app)
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/unplaced")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator(".modeler-status")).to_contain_text(LAID_OUT)
    expect(page.locator('#canvas g.djs-element[data-element-id="approve"]')).to_have_count(1)
    screenshot(page, "modeler-laid-out")

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(live_app.extensions["valueflow"](), "unplaced", "process-owner")
    # the next version keeps the positions made in the browser, the flows' too
    assert "BPMNShape" in stored.package["bpmn"] and 'bpmnElement="f_review_approve"' in stored.package["bpmn"]
    page.goto(f"{server.url}/processes/unplaced")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text(LAID_OUT)).to_have_count(0)


# Claims, in three lanes: the clerk's three ways out of "How big?" put two steps in one column of the Clerk lane,
# and a claim the manager turns down goes back to the clerk.
CLAIM_LANES = {"lane_0": ("Clerk", ["s", "check", "size", "note", "archive"]),
               "lane_1": ("Manager", ["approve", "ok"]),
               "lane_2": ("Finance", ["pay", "done"])}
CLAIM_FLOWS = {"f1": ("s", "check"), "f2": ("check", "size"), "f3": ("size", "approve"), "f4": ("size", "note"),
               "f5": ("size", "archive"), "f6": ("approve", "ok"), "f7": ("ok", "pay"), "f8": ("ok", "check"),
               "f9": ("note", "pay"), "f10": ("archive", "done"), "f11": ("pay", "done")}
CLAIM_CONDITIONS = {"f3": "amount &gt; 100", "f4": "0 &lt; amount &lt;= 100", "f5": "amount == 0",
                    "f7": "approved", "f8": "not approved"}


def claims_without_positions() -> str:
    body = ('<bpmn:startEvent id="s"/>' + samples.user_task("check", "Check the claim")
            + '<bpmn:exclusiveGateway id="size" name="How big?"/>'
            + samples.user_task("approve", "Approve the claim", value_class="BVA")
            + samples.user_task("note", "Write to the customer")
            + samples.user_task("archive", "Archive the claim", value_class="BVA")
            + '<bpmn:exclusiveGateway id="ok" name="Approved?"/>'
            + samples.user_task("pay", "Pay the claim") + '<bpmn:endEvent id="done"/>'
            + "".join(samples.flow(flow_id, source, target, CLAIM_CONDITIONS.get(flow_id))
                      for flow_id, (source, target) in CLAIM_FLOWS.items()))
    return samples.document("claims", body, {name: steps for name, steps in CLAIM_LANES.values()},
                            samples.props(customerValue="A claim paid", targetDuration="P2D", processOwner="ops-lead"))


# An order between the customer's pool and the shop's, in two lanes, and the carrier's, a black box drawn last.
ORDER_POOLS = {"customer_pool": ("Customer", ["want", "send_order", "sent"]),
               "shop_pool": ("Shop", ["order_received", "confirm", "ship", "shipped"]),
               "carrier_pool": ("Carrier", [])}
ORDER_LANES = {"sales": ("Sales", ["order_received", "confirm"]), "warehouse": ("Warehouse", ["ship", "shipped"])}
ORDER_FLOWS = {"c1": ("want", "send_order"), "c2": ("send_order", "sent"),
               "o1": ("order_received", "confirm"), "o2": ("confirm", "ship"), "o3": ("ship", "shipped")}
ORDER_MESSAGES = {"order_sent": ("send_order", "order_received"), "goods_sent": ("ship", "customer_pool"),
                  "pickup_booked": ("customer_pool", "carrier_pool")}


def order_without_positions() -> str:
    def flows(*ids: str) -> str:
        return "".join(samples.flow(i, *ORDER_FLOWS[i]) for i in ids)
    return (samples.HEAD
            + '<bpmn:collaboration id="order">'
            + '<bpmn:participant id="customer_pool" name="Customer" processRef="customer"/>'
            + '<bpmn:participant id="shop_pool" name="Shop" processRef="shop"/>'
            + '<bpmn:participant id="carrier_pool" name="Carrier"/>'
            + "".join(f'<bpmn:messageFlow id="{i}" sourceRef="{s}" targetRef="{t}"/>'
                      for i, (s, t) in ORDER_MESSAGES.items())
            + '</bpmn:collaboration>'
            + '<bpmn:process id="customer" name="Customer" isExecutable="false">'
            + '<bpmn:startEvent id="want"/><bpmn:task id="send_order" name="Send the order"/><bpmn:endEvent id="sent"/>'
            + flows("c1", "c2") + '</bpmn:process>'
            + '<bpmn:process id="shop" name="Shop orders" isExecutable="true">'
            + samples.props(customerValue="Goods at the door", targetDuration="P3D", processOwner="ops-lead")
            + '<bpmn:laneSet id="shop_lanes">'
            + "".join(f'<bpmn:lane id="{i}" name="{name}">'
                      + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in steps) + "</bpmn:lane>"
                      for i, (name, steps) in ORDER_LANES.items())
            + '</bpmn:laneSet>'
            + '<bpmn:startEvent id="order_received"><bpmn:messageEventDefinition/></bpmn:startEvent>'
            + samples.user_task("confirm", "Confirm the order") + samples.user_task("ship", "Ship the goods")
            + '<bpmn:endEvent id="shipped"/>' + flows("o1", "o2", "o3") + '</bpmn:process>'
            + "</bpmn:definitions>\n")


# Each element drawn in the container, by id: a shape's bounds and the text drawn on it, a connection's waypoints.
DRAWN = """container => Object.fromEntries(Array.from(document.querySelectorAll(container + ' g.djs-element'))
  .map(g => {
    const hit = g.querySelector(':scope > .djs-hit');
    if (g.classList.contains('djs-connection')) {
      const numbers = hit.getAttribute('d').match(/-?[\\d.]+/g).map(Number);
      return [g.dataset.elementId, { points: numbers.filter((_, i) => i % 2 === 0)
        .map((x, i) => [x, numbers[2 * i + 1]]) }];
    }
    const at = /matrix\\(1 0 0 1 (\\S+) (\\S+)\\)/.exec(g.getAttribute('transform'));
    return [g.dataset.elementId, { x: +at[1], y: +at[2], width: +hit.getAttribute('width'),
                                   height: +hit.getAttribute('height'),
                                   text: g.querySelector(':scope > .djs-visual').textContent }];
  }))"""


def inside(inner: dict, outer: dict) -> bool:
    return (outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            and outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"])


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def crosses(points: list, shape: dict) -> bool:
    """Whether a route of horizontal and vertical segments runs through the inside of a shape."""
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        segment = {"x": min(x1, x2), "y": min(y1, y2), "width": abs(x2 - x1), "height": abs(y2 - y1)}
        core = {"x": shape["x"] + 1, "y": shape["y"] + 1, "width": shape["width"] - 2, "height": shape["height"] - 2}
        if (core["x"] <= segment["x"] + segment["width"] and segment["x"] <= core["x"] + core["width"]
                and core["y"] <= segment["y"] + segment["height"] and segment["y"] <= core["y"] + core["height"]):
            return True
    return False


def stretches(points: list) -> list:
    """A route's segments, each as (axis, its coordinate on that axis, from, to)."""
    return [("x", x1, min(y1, y2), max(y1, y2)) if x1 == x2 else ("y", y1, min(x1, x2), max(x1, x2))
            for (x1, y1), (x2, y2) in zip(points, points[1:])]


def share_a_stretch(a: list, b: list) -> bool:
    """Whether two routes run along the same line for a while, where one would be read as the other."""
    return any(sa[:2] == sb[:2] and min(sa[3], sb[3]) > max(sa[2], sb[2]) for sa in stretches(a) for sb in stretches(b))


def assert_drawn_in_bands(page: Page, container: str, bands: dict, flows: dict) -> dict:
    """Each band (a lane or a pool) drawn with its name, each step inside its band, no two steps overlapping, no
    flow running through a step it does not join, and no two flows that have neither end in common running along
    one line; what is drawn, by id."""
    drawn = page.evaluate(DRAWN, container)
    for band_id, (name, steps) in bands.items():
        assert drawn[band_id]["text"] == name
        for step in steps:
            assert inside(drawn[step], drawn[band_id]), (step, name)
    steps = [step for _, members in bands.values() for step in members]
    for i, a in enumerate(steps):
        for b in steps[i + 1:]:
            assert not overlap(drawn[a], drawn[b]), (a, b)
    for flow_id, (source, target) in flows.items():
        for step in steps:
            if step not in (source, target):
                assert not crosses(drawn[flow_id]["points"], drawn[step]), (flow_id, step)
    for i, (a, ends_a) in enumerate(flows.items()):
        for b, ends_b in list(flows.items())[i + 1:]:
            if ends_a[0] != ends_b[0] and ends_a[1] != ends_b[1]:
                assert not share_a_stretch(drawn[a]["points"], drawn[b]["points"]), (a, b)
    return drawn


def test_a_process_without_positions_is_drawn_in_its_lanes_on_the_process_page_and_in_the_modeler(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    xml = claims_without_positions()
    assert "BPMNShape" not in xml
    service.deploy(new_uow(), Package("claims", "claims.bpmn", {"claims.bpmn": xml}))
    sign_in(page, server.url, "process-owner")

    page.goto(f"{server.url}/processes/claims")
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.get_by_text(LAID_OUT)).to_be_visible()
    expect(page.get_by_text("lanes and pools are not drawn")).to_have_count(0)
    drawn = assert_drawn_in_bands(page, "#diagram", CLAIM_LANES, CLAIM_FLOWS)
    # the flow still reads left to right, and the lanes lie one under another
    assert drawn["s"]["x"] < drawn["check"]["x"] < drawn["size"]["x"] < drawn["approve"]["x"] < drawn["pay"]["x"]
    assert drawn["lane_0"]["y"] < drawn["lane_1"]["y"] < drawn["lane_2"]["y"]
    screenshot(page, "process-page-laid-out-lanes")

    page.goto(f"{server.url}/modeler/claims")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator(".modeler-status")).to_contain_text(LAID_OUT)
    assert_drawn_in_bands(page, "#canvas", CLAIM_LANES, CLAIM_FLOWS)
    screenshot(page, "modeler-laid-out-lanes")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(new_uow(), "claims", "process-owner").package["bpmn"]
    for lane in CLAIM_LANES:
        assert f'bpmnElement="{lane}"' in stored


def test_a_collaboration_without_positions_is_drawn_as_pools_with_lanes_and_message_flows(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    xml = order_without_positions()
    service.deploy(new_uow(), Package("shop", "shop.bpmn", {"shop.bpmn": xml}))
    sign_in(page, server.url, "process-owner")

    for url, container in ((f"{server.url}/processes/shop", "#diagram"), (f"{server.url}/modeler/shop", "#canvas")):
        page.goto(url)
        expect(page.locator(container)).to_have_attribute("data-state", "ready")
        drawn = assert_drawn_in_bands(page, container, ORDER_POOLS, {**ORDER_FLOWS, **ORDER_MESSAGES})
        assert_drawn_in_bands(page, container, ORDER_LANES, ORDER_FLOWS)
        for lane in ORDER_LANES:
            assert inside(drawn[lane], drawn["shop_pool"])
        assert drawn["customer_pool"]["y"] + drawn["customer_pool"]["height"] <= drawn["shop_pool"]["y"]
        assert drawn["shop_pool"]["y"] + drawn["shop_pool"]["height"] <= drawn["carrier_pool"]["y"]
        # each message flow runs from the pool of its source to that of its target
        for message, (source, target) in ORDER_MESSAGES.items():
            points = drawn[message]["points"]
            assert len(points) >= 2
            assert (points[0][1], points[-1][1]) == (drawn[source]["y"] + drawn[source]["height"], drawn[target]["y"]) \
                or (points[0][1], points[-1][1]) == (drawn[source]["y"], drawn[target]["y"] + drawn[target]["height"])
        screenshot(page, "laid-out-pools-" + container[1:])

    # the modeler is titled with the process it edits and deploys, the shop's, not the first pool's
    expect(page.locator("#modeler-title")).to_have_text("Shop orders")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(new_uow(), "shop", "process-owner").package["bpmn"]
    for element in (*ORDER_POOLS, *ORDER_LANES, *ORDER_MESSAGES):
        assert f'bpmnElement="{element}"' in stored


# Refunds, in two lanes, with steps no lane lists (scripts: a person's step needs a lane), and boundary events:
# two on one step, a timer on another whose host a flow comes back to.
REFUND_LANES = {"lane_0": ("Clerk", ["r_start", "r_check", "r_fix"]), "lane_1": ("Manager", ["r_approve"])}
REFUND_LOOSE = ["r_notify", "r_done", "r_escalate", "r_late"]
REFUND_BOUNDARY = {"r_too_long": "r_check", "r_reminder": "r_approve", "r_expired": "r_approve"}
REFUND_FLOWS = {"g1": ("r_start", "r_check"), "g2": ("r_check", "r_approve"), "g3": ("r_approve", "r_notify"),
                "g4": ("r_notify", "r_done"), "g5": ("r_too_long", "r_escalate"), "g6": ("r_escalate", "r_late"),
                "g7": ("r_expired", "r_fix"), "g8": ("r_fix", "r_check"), "g9": ("r_reminder", "r_notify")}


def timer(event_id: str, host: str, interrupting: bool) -> str:
    return (f'<bpmn:boundaryEvent id="{event_id}" attachedToRef="{host}" cancelActivity="{str(interrupting).lower()}">'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT8H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
            "</bpmn:boundaryEvent>")


def script(task_id: str, name: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}" name="{name}"><bpmn:script>done = True</bpmn:script></bpmn:scriptTask>'


def refunds_without_positions() -> str:
    body = ('<bpmn:startEvent id="r_start"/>' + samples.user_task("r_check", "Check the refund")
            + samples.user_task("r_approve", "Approve the refund", value_class="BVA")
            + samples.user_task("r_fix", "Fix the refund") + script("r_notify", "Tell the customer")
            + script("r_escalate", "Escalate")
            + '<bpmn:endEvent id="r_done"/><bpmn:endEvent id="r_late"/>'
            + timer("r_too_long", "r_check", True) + timer("r_reminder", "r_approve", False)
            + timer("r_expired", "r_approve", True)
            + "".join(samples.flow(flow_id, *ends) for flow_id, ends in REFUND_FLOWS.items()))
    return samples.document("refunds", body, {name: steps for name, steps in REFUND_LANES.values()},
                            samples.props(customerValue="Money back", targetDuration="P2D", processOwner="ops-lead"))


NO_LANE = """container => Array.from(document.querySelectorAll(container + ' g.vf-no-lane')).map(g => {
  const box = g.querySelector('rect');
  return { x: +box.getAttribute('x'), y: +box.getAttribute('y'), width: +box.getAttribute('width'),
           height: +box.getAttribute('height'), text: g.textContent };
})"""


def assert_boundary_events_on_their_hosts(drawn: dict, boundary: dict, shapes: list, flows: dict) -> None:
    """Each boundary event's centre on its host's bottom border; no two shapes overlapping but an event and its
    host; no flow running through a shape (a boundary event's included) that it does not join."""
    for event, host in boundary.items():
        e, h = drawn[event], drawn[host]
        centre = (e["x"] + e["width"] / 2, e["y"] + e["height"] / 2)
        assert centre[1] == h["y"] + h["height"] and h["x"] <= centre[0] <= h["x"] + h["width"], (event, host)
    everything = shapes + list(boundary)
    for i, a in enumerate(everything):
        for b in everything[i + 1:]:
            if boundary.get(a) != b and boundary.get(b) != a:
                assert not overlap(drawn[a], drawn[b]), (a, b)
    for flow_id, (source, target) in flows.items():
        for shape in everything:
            if shape not in (source, target):
                assert not crosses(drawn[flow_id]["points"], drawn[shape]), (flow_id, shape)


def test_steps_of_no_lane_are_drawn_in_a_named_band_and_boundary_events_sit_on_their_hosts(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    service.deploy(new_uow(), Package("refunds", "refunds.bpmn", {"refunds.bpmn": refunds_without_positions()}))
    sign_in(page, server.url, "process-owner")

    for url, container in ((f"{server.url}/processes/refunds", "#diagram"),
                           (f"{server.url}/modeler/refunds", "#canvas")):
        page.goto(url)
        expect(page.locator(container)).to_have_attribute("data-state", "ready")
        drawn = assert_drawn_in_bands(page, container, REFUND_LANES, REFUND_FLOWS)
        [band] = page.evaluate(NO_LANE, container)
        assert band["text"] == "(no lane)"
        lanes = [drawn[lane] for lane in REFUND_LANES]
        # the band lies under the lanes, as wide as they are, and holds the steps no lane lists
        assert band["y"] >= max(lane["y"] + lane["height"] for lane in lanes)
        assert (band["x"], band["width"]) == (lanes[0]["x"], lanes[0]["width"])
        for step in REFUND_LOOSE:
            assert inside(drawn[step], band), step
        shapes = [step for _, steps in REFUND_LANES.values() for step in steps] + REFUND_LOOSE
        assert_boundary_events_on_their_hosts(drawn, REFUND_BOUNDARY, shapes, REFUND_FLOWS)
        screenshot(page, "laid-out-no-lane-and-boundary-events-" + container[1:])

    # the band is no part of the diagram: a change takes it away, and the deployed file has no lane for it
    page.locator('#canvas g.djs-element[data-element-id="r_fix"]').click()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#canvas g.vf-no-lane")).to_have_count(0)
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(new_uow(), "refunds", "process-owner").package["bpmn"]
    assert "no lane" not in stored and stored.count("<bpmn:lane ") == len(REFUND_LANES)


# An order taken in Sales and fulfilled in a subprocess that has lanes of its own, and a reminder, in no lane, when
# picking takes long.
FULFIL_LANES = {"picking": ("Warehouse", ["fs", "pick"]), "shipping": ("Shipping", ["ship", "fe"])}
FULFIL_LOOSE = ["remind", "reminded"]
FULFIL_FLOWS = {"h1": ("fs", "pick"), "h2": ("pick", "ship"), "h3": ("ship", "fe"), "h4": ("slow", "remind"),
                "h5": ("remind", "reminded")}


def fulfilment_without_positions() -> str:
    inner = ('<bpmn:laneSet id="fulfil_lanes">'
             + "".join(f'<bpmn:lane id="{i}" name="{name}">'
                       + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in steps) + "</bpmn:lane>"
                       for i, (name, steps) in FULFIL_LANES.items())
             + '</bpmn:laneSet><bpmn:startEvent id="fs"/>' + samples.user_task("pick", "Pick the goods")
             + samples.user_task("ship", "Ship the goods") + '<bpmn:endEvent id="fe"/>'
             + timer("slow", "pick", False) + script("remind", "Remind the warehouse")
             + '<bpmn:endEvent id="reminded"/>'
             + "".join(samples.flow(flow_id, *ends) for flow_id, ends in FULFIL_FLOWS.items()))
    body = ('<bpmn:startEvent id="s"/>' + samples.user_task("take", "Take the order")
            + f'<bpmn:subProcess id="fulfil" name="Fulfil the order">{inner}</bpmn:subProcess>'
            + '<bpmn:endEvent id="e"/>' + samples.chain("s", "take", "fulfil", "e"))
    return samples.document("fulfilment", body, {"Sales": ["s", "take", "fulfil", "e"]},
                            samples.props(customerValue="Goods at the door", targetDuration="P3D",
                                          processOwner="ops-lead"))


def test_the_lanes_of_a_subprocess_without_positions_are_drawn_on_its_plane(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    service.deploy(new_uow(), Package("fulfilment", "fulfilment.bpmn",
                                      {"fulfilment.bpmn": fulfilment_without_positions()}))
    sign_in(page, server.url, "process-owner")

    for url, container in ((f"{server.url}/processes/fulfilment", "#diagram"),
                           (f"{server.url}/modeler/fulfilment", "#canvas")):
        page.goto(url)
        expect(page.locator(container)).to_have_attribute("data-state", "ready")
        drawn = assert_drawn_in_bands(page, container, {"lane_0": ("Sales", ["s", "take", "fulfil", "e"])},
                                      {"f_s_take": ("s", "take"), "f_take_fulfil": ("take", "fulfil")})
        assert not set(FULFIL_LANES) & set(drawn) and page.evaluate(NO_LANE, container) == []
        # the subprocess opens on its own plane, its steps in its lanes
        page.locator(f'{container} .bjs-drilldown').click()
        expect(page.locator(f'{container} g.djs-element[data-element-id="picking"]')).to_have_count(1)
        drawn = assert_drawn_in_bands(page, container, FULFIL_LANES, FULFIL_FLOWS)
        assert drawn["picking"]["y"] + drawn["picking"]["height"] == drawn["shipping"]["y"]
        assert drawn["fs"]["x"] < drawn["pick"]["x"] < drawn["ship"]["x"] < drawn["fe"]["x"]
        [band] = page.evaluate(NO_LANE, container)
        assert band["text"] == "(no lane)" and band["y"] == drawn["shipping"]["y"] + drawn["shipping"]["height"]
        for step in FULFIL_LOOSE:
            assert inside(drawn[step], band), step
        shapes = [step for _, steps in FULFIL_LANES.values() for step in steps] + FULFIL_LOOSE
        assert_boundary_events_on_their_hosts(drawn, {"slow": "pick"}, shapes, FULFIL_FLOWS)
        screenshot(page, "laid-out-subprocess-lanes-" + container[1:])

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#deployed")).to_contain_text("version 2")
    stored = service.open_for_editing(new_uow(), "fulfilment", "process-owner").package["bpmn"]
    for lane in FULFIL_LANES:
        assert f'bpmnElement="{lane}"' in stored


# A loan request, in two lanes, that calls a credit check kept in the same file, beside an audit process drawn
# first; all three executable, and no collaboration joins them.
LOAN_POOLS = {"Participant_audit": ("audit", ["as", "look", "ae"]),
              "Participant_loan": ("Loan request", ["s", "take", "credit", "decide", "e"]),
              "Participant_checkCredit": ("Check the credit", ["cs", "score", "ce"])}
LOAN_LANES = {"clerk": ("Clerk", ["s", "take", "credit"]), "officer": ("Loan officer", ["decide", "e"])}


def processes_without_positions() -> str:
    lanes = "".join(f'<bpmn:lane id="{i}" name="{name}">'
                    + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in steps) + "</bpmn:lane>"
                    for i, (name, steps) in LOAN_LANES.items())
    audit = ('<bpmn:process id="audit" isExecutable="true">'
             + samples.props(customerValue="Fair decisions", targetDuration="P5D", processOwner="ops-lead")
             + '<bpmn:laneSet id="audit_lanes"><bpmn:lane id="auditor" name="Auditor">'
             + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in ("as", "look", "ae"))
             + '</bpmn:lane></bpmn:laneSet>'
             + '<bpmn:startEvent id="as"/>' + samples.user_task("look", "Audit a sample") + '<bpmn:endEvent id="ae"/>'
             + samples.chain("as", "look", "ae") + "</bpmn:process>")
    loan = ('<bpmn:process id="loan" name="Loan request" isExecutable="true">'
            + samples.props(customerValue="A loan decided", targetDuration="P2D", processOwner="ops-lead")
            + f'<bpmn:laneSet id="loan_lanes">{lanes}</bpmn:laneSet>'
            + '<bpmn:startEvent id="s"/>' + samples.user_task("take", "Take the request")
            + '<bpmn:callActivity id="credit" name="Check the credit" calledElement="checkCredit"/>'
            + samples.user_task("decide", "Decide") + '<bpmn:endEvent id="e"/>'
            + samples.chain("s", "take", "credit", "decide", "e") + "</bpmn:process>")
    check = ('<bpmn:process id="checkCredit" name="Check the credit" isExecutable="true">'
             + '<bpmn:startEvent id="cs"/>' + script("score", "Score the customer") + '<bpmn:endEvent id="ce"/>'
             + samples.chain("cs", "score", "ce") + "</bpmn:process>")
    return samples.HEAD + audit + loan + check + "</bpmn:definitions>\n"


def assert_pools_stacked(drawn: dict, order: list) -> None:
    for upper, lower in zip(order, order[1:]):
        assert drawn[upper]["y"] + drawn[upper]["height"] <= drawn[lower]["y"], (upper, lower)


def test_a_file_of_several_processes_without_positions_draws_each_in_a_named_pool_the_page_s_process_first(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    service.deploy(new_uow(), Package("loan", "loan.bpmn", {"loan.bpmn": processes_without_positions()}))
    case_id = service.start_instance(new_uow(), "loan", service.CustomerRef("c-7", "Ada Moss", "standard"), {})
    pages = (("process-owner", "/processes/loan", "#diagram", "laid-out-several-processes"),
             ("manager", f"/instances/{case_id}", "#diagram", "case-page-laid-out-several-processes"),
             ("process-owner", "/modeler/loan", "#canvas", "modeler-laid-out-several-processes"))
    for user, path, container, shot in pages:
        sign_in(page, server.url, user)
        page.goto(server.url + path)
        expect(page.locator(container)).to_have_attribute("data-state", "ready")
        drawn = assert_drawn_in_bands(page, container, LOAN_POOLS, {})
        assert_drawn_in_bands(page, container, LOAN_LANES, {})
        # the process of the page on top (the one the audit comes before in the file), the one it calls last
        assert_pools_stacked(drawn, ["Participant_loan", "Participant_audit", "Participant_checkCredit"])
        screenshot(page, shot)
        if path.startswith("/instances/"):
            expect(page.locator('#diagram g.djs-element[data-element-id="take"].vf-open')).to_have_count(1)
        if path.startswith("/modeler/"):
            expect(page.locator("#modeler-title")).to_have_text("Loan request")
        sign_out(page)
