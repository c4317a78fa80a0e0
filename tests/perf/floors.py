"""Floors: the least a server must do for each measured path, written here from scratch.

None of these views calls the project's services, models or templates: a floor built from
the code it is compared with would share that code's costs and prove nothing. They are served
by the same gunicorn, through the same middleware stack (sessions, authentication, CSRF,
messages, the staff-access mark), on the same PostgreSQL database as the pages they measure,
so a ratio shows what the project's own code adds on top of that unavoidable work.
"""

from django.db import connection, transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from wagtail.models import Site

# The floor's own tables, named literally in every statement below (no string building).
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS bench_floor_capacity (
        id serial PRIMARY KEY, seats integer NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS bench_floor_hold (
        id bigserial PRIMARY KEY,
        capacity_id integer NOT NULL REFERENCES bench_floor_capacity (id),
        user_id bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX IF NOT EXISTS bench_floor_hold_capacity ON bench_floor_hold (capacity_id)",
]
# One line of template, compiled once per process like the site's cached templates.
MINIMAL_PAGE = engines["django"].from_string(
    "<main><h1>{{ page.title }}</h1>"
    "{% if user.is_authenticated %}<p>{{ user.email }}</p>{% endif %}</main>"
)


def create_floor_tables():
    """The floor's capacity and hold tables (raw SQL: the app's models stay untouched)."""
    with connection.cursor() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


def new_capacity(seats):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor_capacity (seats) VALUES (%s) RETURNING id", [seats])
        return cursor.fetchone()[0]


def holds_beyond_capacity(capacity_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM bench_floor_hold WHERE capacity_id = %s) - seats "
            "FROM bench_floor_capacity WHERE id = %s",
            [capacity_id, capacity_id],
        )
        return max(0, cursor.fetchone()[0])


def bare(request):
    """The cheapest response Django can give."""
    return HttpResponse("Heart and Soul of Change Project", content_type="text/plain")


@csrf_exempt
@require_POST
def bare_post(request):
    """A POST endpoint that reads the body and answers: the floor of a webhook receiver."""
    return HttpResponse(f"received {len(request.body)} bytes", content_type="text/plain")


@require_POST
def hold_seat(request, capacity_id):
    """Place a hold the least expensive correct way: lock the capacity row, count, insert.

    The same correctness a registration needs (no overselling under concurrency) with nothing
    else: a signed-in buyer (the middleware loads the session and the user, as for the real
    view), `SELECT … FOR UPDATE` on the capacity row, the seats taken, one `INSERT`, a
    redirect to the booking; a small 409 when sold out.
    """
    if not request.user.is_authenticated:
        return HttpResponse("Sign in first", status=403, content_type="text/plain")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT seats FROM bench_floor_capacity WHERE id = %s FOR UPDATE", [capacity_id]
        )
        (seats,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM bench_floor_hold WHERE capacity_id = %s", [capacity_id]
        )
        (taken,) = cursor.fetchone()
        if taken >= seats:
            return HttpResponse("Sold out", status=409, content_type="text/plain")
        cursor.execute(
            "INSERT INTO bench_floor_hold (capacity_id, user_id) VALUES (%s, %s) RETURNING id",
            [capacity_id, request.user.pk],
        )
        (hold_id,) = cursor.fetchone()
    return HttpResponseRedirect(f"/bench/floor/bookings/{hold_id}/")


def minimal_page(request, path=""):
    """A minimal Wagtail page: routing, `.specific`, a one-line template.

    What any Wagtail page must cost: find the site for the request, route the same URL path
    as the page measured (the same depth of the tree), load the specific page, render its
    title, and for a signed-in visitor say who is signed in (loading the session and the
    user, as any page for a member must). No page model of its own (app code stays
    untouched): the page routed is the real one, but none of its own `serve`, `get_context`
    or template runs, and the template is rendered without the request, so the project's
    context processors do not run either.
    """
    site = Site.find_for_request(request)
    if site is None:
        raise Http404
    components = [part for part in path.split("/") if part]
    route = site.root_page.localized.specific.route(request, components)
    page = route.page.specific
    return HttpResponse(MINIMAL_PAGE.render({"page": page, "user": request.user}))
