"""RSS and Atom feeds of the news articles on the current site."""

import datetime

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from wagtail.models import Site

from cms.models import ArticlePage, SiteSettings

FEED_LENGTH = 20


class ArticleFeed(Feed):
    """The newest articles, newest first; readers link back to each article page."""

    description_template = None

    def get_object(self, request, *args, **kwargs):
        self.request = request
        return Site.find_for_request(request)

    def title(self, site):
        name = SiteSettings.for_request(self.request).organisation_name
        return _("%(organisation)s: news") % {"organisation": name}

    def link(self, site):
        return site.root_page.get_url(request=self.request) if site else "/"

    def description(self, site):
        name = SiteSettings.for_request(self.request).organisation_name
        return _("Articles and news from %(organisation)s.") % {"organisation": name}

    def items(self, site):
        articles = (
            ArticlePage.objects.live().public().prefetch_related("tags").order_by("-date", "-pk")
        )
        if site is not None:
            articles = articles.descendant_of(site.root_page)
        return articles[:FEED_LENGTH]

    def item_title(self, article):
        return article.title

    def item_description(self, article):
        return article.summary

    def item_link(self, article):
        return article.get_url(request=self.request)

    def item_author_name(self, article):
        return article.author

    def item_pubdate(self, article):
        return datetime.datetime.combine(article.date, datetime.time.min, tzinfo=datetime.UTC)

    def item_updateddate(self, article):
        return article.last_published_at

    def item_categories(self, article):
        return [tag.name for tag in article.tags.all()]


class AtomArticleFeed(ArticleFeed):
    feed_type = Atom1Feed
    subtitle = ArticleFeed.description
