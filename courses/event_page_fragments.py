"""What the event page's cached fragments are kept under (templates/courses/event_page.html).

Almost all of an event page is the same for every visitor (`cms.fragments`): its head
(sharing tags, JSON-LD), title block, picture, description, schedule, presenters, CE
approvals, venue and refund policy. Only the registration box (seats left, the visitor's own
registration, the ticket form) and the site header are rendered for each visit, which keeps
a signed-in member's page, never served from the page cache, close to any Wagtail page's
cost.
"""

from django.utils import timezone
from django.utils.functional import cached_property

from cms.fragments import PageFragments


class EventPageFragments(PageFragments):
    @cached_property
    def offers(self):
        """What the JSON-LD's offers depend on besides the content: whether one can register
        now, whether seats are left (counted once per request, with the registration box),
        and how many of the moments that change a price or a sale have passed."""
        page, now = self.page, timezone.now()
        if page.pk is None:
            return "preview"
        passed = sum(1 for moment in page.page_cache_state()["moments"] if moment <= now)
        registering = page.registration_is_open(now)
        available = registering and page.seats_left > 0
        return f"{int(registering)}{int(available)}.{passed}"

    @cached_property
    def anonymous_box(self):
        """The copy of an anonymous visitor's registration box that is right now: the page
        cache's variant (seats left and passed moments, `EventPage.page_cache_variant`),
        which is what the box shows besides the content. Not for a signed-in visitor, whose
        box is their own."""
        page = self.page
        if page.pk is None:
            return "preview"
        return page.page_cache_variant(page.page_cache_state(), rendered=page)
