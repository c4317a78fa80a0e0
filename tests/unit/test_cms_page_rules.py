"""Where each CMS page type may be created in the page tree."""

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

from cms.models import ArticlePage, HomePage, NewsIndexPage, StandardPage


class PageTreeRulesTest(WagtailPageTestCase):
    def test_home_page_sits_only_at_the_root(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})

    def test_articles_live_only_in_a_news_index_and_have_no_children(self):
        self.assertAllowedParentPageTypes(ArticlePage, {NewsIndexPage})
        self.assertAllowedSubpageTypes(ArticlePage, set())

    def test_a_news_index_holds_only_articles(self):
        self.assertAllowedSubpageTypes(NewsIndexPage, {ArticlePage})

    def test_standard_pages_can_go_under_the_home_page(self):
        self.assertCanCreateAt(HomePage, StandardPage)
        self.assertCanCreateAt(HomePage, NewsIndexPage)
        self.assertCanNotCreateAt(HomePage, ArticlePage)
