"""The explorer page in a real browser: headless Chromium (Debian's package, installed by
``make test``) driven by playwright loads the page the demo writes (two moons, 500 points per
class, 50 λ values, three margins), moves the sliders and clicks a point, and every value read
back from the page is compared with the exact solver run independently here."""
import base64
import json
import os
import re
import statistics

import numpy as np
import pytest

from otreg import Problem, hkr_transport
from otreg.data.toys import make_toy
from otreg.plot.browser import chromium, page_url
from otreg.plot.explore import DEFAULT_EXPLORER_LAMS, write_explorer

N_PER_CLASS = 500
MAX_BYTES = 5_000_000
REDRAW_MS = 100.0


def redraw_budget() -> float:
    """The 100 ms target holds on a machine that is not oversubscribed; when the load average
    exceeds the cores (other jobs beside the suite), the browser's frames wait for a core and
    the budget grows in proportion."""
    return REDRAW_MS * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def _network(points):
    """A 1-Lipschitz stand-in for a trained network (its values are checked, not its quality)."""
    points = np.atleast_2d(points)
    return 0.6 * points[:, 1] - 0.8 * points[:, 0] + 0.3


@pytest.fixture(scope="module")
def clouds():
    return make_toy("moons", n_pos=N_PER_CLASS, seed=0)


@pytest.fixture(scope="module")
def page_path(clouds, tmp_path_factory):
    path = tmp_path_factory.mktemp("explorer") / "explore.html"
    write_explorer(Problem(*clouds, 1.0, 0.1), path, network=_network)
    return path


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:  # never skipped: make test installs playwright and Chromium
        yield b


@pytest.fixture(scope="module")
def page(browser, page_path):
    tab = browser.new_page(viewport={"width": 1500, "height": 1000})
    requests, errors = [], []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(page_url(page_path))
    tab.wait_for_function("window.otregExplorer && otregExplorer.state().redraws > 0")
    tab.requests, tab.errors = requests, errors
    yield tab
    tab.close()


def _move(page, slider, index):
    """Set a slider as a user's drag does (value + input event); returns the time from the
    event to the next frame, the handler's time and the page's state afterwards."""
    return page.evaluate("""async ([id, k]) => {
        const el = document.getElementById(id), t0 = performance.now();
        el.value = String(k);
        el.dispatchEvent(new Event('input', {bubbles: true}));
        const t1 = performance.now();
        await new Promise((r) => requestAnimationFrame(() => r()));
        const t2 = performance.now();
        const stats = {...document.getElementById('stats').dataset};
        return {frame: t2 - t0, handler: t1 - t0, stats: stats,
                state: otregExplorer.state()};
    }""", [slider, index])


def _exact(clouds, lam, margin):
    return hkr_transport(Problem(*clouds, lam, margin))


def test_page_is_small_and_self_contained(page_path):
    size = os.path.getsize(page_path)
    assert size <= MAX_BYTES, f"{size / 1e6:.2f} MB"
    text = page_path.read_text(encoding="utf-8")
    # nothing to fetch: no URL-bearing attribute but the inline icon, no module import
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", text, re.I)
    assert "http://" not in text and "https://" not in text and "import(" not in text


def test_no_network_request_and_no_script_error(page, page_path):
    assert page.errors == []
    assert set(page.requests) <= {page_url(page_path)}, page.requests
    assert page.requests  # the page itself was seen: the listener works


def test_lambda_slider_moves_the_exact_mass(page, clouds):
    lams = DEFAULT_EXPLORER_LAMS
    margin = page.evaluate("otregExplorer.state().margin")
    assert margin == 0.1
    frames, handlers = [], []
    page.focus("#lam")
    page.keyboard.press("Home")  # a user's key press: the slider to lambda = 0
    assert page.evaluate("otregExplorer.state().lam") == 0.0
    for k in (0, 9, 20, 31, 40, 49):
        out = _move(page, "lam", k)
        frames.append(out["frame"])
        handlers.append(out["handler"])
        lam = lams[k]
        assert float(out["stats"]["lam"]) == lam
        res = _exact(clouds, lam, margin)
        assert abs(float(out["stats"]["mass"]) - res.mass) <= 1e-9, (lam, out["stats"])
        assert abs(float(out["stats"]["loss"]) - res.loss) <= 1e-9
        assert int(out["stats"]["links"]) == np.count_nonzero(res.plan)
    assert lams[0] == 0.0 and lams[-1] == 100.0
    page.keyboard.press("End")
    assert page.evaluate("otregExplorer.state().lam") == 100.0
    print(f"redraw ms, event -> next frame: {[round(f, 1) for f in frames]}, "
          f"in the handler: {[round(h, 1) for h in handlers]}")
    budget = redraw_budget()
    assert statistics.median(frames) <= budget, (frames, budget)
    assert max(frames) <= 2 * budget, (frames, budget)  # one slow frame under load, not more


def test_margin_slider_moves_the_exact_mass(page, clouds):
    _move(page, "lam", 31)
    frames = []
    for k in (2, 0, 2):
        out = _move(page, "margin", k)
        lam, margin = out["state"]["lam"], out["state"]["margin"]
        res = _exact(clouds, lam, margin)
        assert abs(float(out["stats"]["mass"]) - res.mass) <= 1e-9, (margin, out["stats"])
        frames.append(out["frame"])
    assert margin == 0.2
    assert statistics.median(frames) <= redraw_budget(), frames
    _move(page, "margin", 1)


def test_drawn_potential_is_the_extension(page, clouds):
    """The page's level sets come from its own evaluation of the McShane extension: at grid
    nodes and at random points it equals HKRResult.extension() to 1e-9."""
    state = _move(page, "lam", 25)["state"]
    res = _exact(clouds, state["lam"], state["margin"])
    ext = res.extension()
    grid = page.evaluate("otregExplorer.data.grid")
    nodes = [page.evaluate(f"otregExplorer.gridNode({r}, {c})")
             for r, c in [(0, 0), (grid // 3, grid // 2), (grid - 1, grid - 1), (7, grid - 5)]]
    pts = np.array([n["point"] for n in nodes])
    assert np.allclose([n["value"] for n in nodes], ext(pts), rtol=0, atol=1e-9)
    rand = np.random.default_rng(3).uniform([-1.5, -1.0], [2.5, 1.5], size=(6, 2))
    assert np.allclose(page.evaluate("(p) => otregExplorer.potentialAt(p)", rand.tolist()),
                       ext(rand), rtol=0, atol=1e-9)
    net = np.array([n["network"] for n in nodes])
    assert np.allclose(net, _network(pts), rtol=1e-6, atol=1e-6)  # stored as float32


def test_click_shows_value_radius_and_adversarial_step(page, clouds, tmp_path):
    state = _move(page, "lam", 31)["state"]
    res = _exact(clouds, state["lam"], state["margin"])
    target = 123  # a positive sample
    x, y = page.evaluate(f"otregExplorer.pixelOf({target})")
    box = page.locator("#main").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    info = page.locator("#inspect").evaluate("(el) => ({...el.dataset})")
    i = int(info["index"])
    assert np.hypot(*np.subtract(page.evaluate(f"otregExplorer.pixelOf({i})"), (x, y))) < 1.0
    f = np.concatenate([res.f_pos, res.f_neg])
    label = 1.0 if i < res.problem.n else -1.0
    assert abs(float(info["f"]) - f[i]) <= 1e-9
    assert abs(float(info["radius"]) - max(label * f[i], 0.0)) <= 1e-9
    point = res.problem.samples[i]
    step = point - f[i] * res.extension().grad(point[None])[0]
    assert np.allclose(json.loads(info["step"]), step, rtol=0, atol=1e-9)
    assert abs(float(info["stepLength"]) - abs(f[i])) <= 1e-9  # |grad| = 1: length |f(x)|
    assert abs(float(info["fAtStep"]) - res.extension()(step[None])[0]) <= 1e-9
    shot = tmp_path / "explore.png"
    page.screenshot(path=str(shot), full_page=True)
    _assert_picture(shot)


def _assert_picture(path):
    """A real rendering: a PNG with the positives' red and the negatives' blue in it."""
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))[..., :3]
    assert img.shape[0] > 500 and img.shape[1] > 1000

    def has(rgb):
        return np.any(np.all(np.abs(img - np.array(rgb) / 255) < 0.03, axis=-1))
    assert has((0xd6, 0x27, 0x28)) and has((0x1f, 0x77, 0xb4))


def test_embedded_values_are_exact(page_path, clouds):
    """The masses and sample values the page compares are stored at full precision."""
    text = page_path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="otreg-data">(.*?)</script>', text, re.S).group(1))
    entry = data["solves"][1][31]
    res = _exact(clouds, data["lams"][31], data["margins"][1])
    f = np.frombuffer(base64.b64decode(entry["f"]), "<f8")
    assert np.array_equal(f, np.concatenate([res.f_pos, res.f_neg]))
    w = np.frombuffer(base64.b64decode(entry["plan_w"]), "<f8")
    assert np.array_equal(np.sort(w), np.sort(res.plan[res.plan != 0]))
