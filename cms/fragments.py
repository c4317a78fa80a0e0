"""The `{% cache %}` arguments a page's visitor-independent fragments are kept under.

A page's title block, picture, body and structured data are the same for every visitor and
change only with the content: rendered once, they are kept under the content generation
(`cms.page_cache`: every publish, unpublish, move, delete or save of a model shown on pages
moves it), so a publish shows at once. What is the visitor's own (the site header, a signed-in
member's registration) is rendered for each visit. This matters most for signed-in visitors
and for the first visitor after a change, whom the whole-page cache never serves.

A page's `get_context` puts one in the context as `fragments`; its template writes
`{% cache fragments.seconds <name> page.pk fragments.generation fragments.language
request.is_preview %}`.
"""

from django.utils import translation
from django.utils.functional import cached_property

from cms import page_cache

# How long a fragment the same for every visitor is kept at most: a content change moves the
# generation in its key at once; the limit bounds what time alone changes (events that began).
FRAGMENT_SECONDS = 300


class PageFragments:
    """Read once per request, whatever the number of fragments."""

    def __init__(self, page, request):
        self.page = page
        self.preview = bool(getattr(request, "is_preview", False))

    @property
    def seconds(self):
        # An editor's preview (unsaved content) is never kept nor read from an earlier copy.
        return 0 if self.preview or self.page.pk is None else FRAGMENT_SECONDS

    @cached_property
    def generation(self):
        return page_cache.generation()

    @cached_property
    def language(self):
        return translation.get_language()
