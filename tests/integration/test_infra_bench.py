"""`make bench` finds every benchmark; the bare baseline view exists only in the bench URLs."""

import pytest

from tests.perf import run_all


def test_run_all_discovers_the_pages_benchmark():
    assert "tests.perf.bench_pages" in run_all.discover(set())
    assert run_all.discover({"pages"}) == ["tests.perf.bench_pages"]


def test_run_all_refuses_an_unknown_benchmark_name(capsys):
    assert run_all.main(["no-such-benchmark"]) == 1
    assert "No benchmark matched ['no-such-benchmark']" in capsys.readouterr().err


def test_bare_view_is_served_under_the_bench_urls(client, settings):
    settings.ROOT_URLCONF = "tests.perf.urls"
    response = client.get("/bench/bare")
    assert response.status_code == 200
    assert response.content == b"Heart and Soul of Change Project"


@pytest.mark.django_db
def test_bare_view_is_not_part_of_the_site(client):
    response = client.get("/bench/bare", follow=True)
    assert response.status_code == 404
    assert response.content != b"Heart and Soul of Change Project"
