"""Factories for the CMS pages; other apps' tests build their pages under `home_page()`."""

import datetime

import factory
import wagtail_factories
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from cms.models import ArticlePage, HomePage, NewsIndexPage, SiteSettings, StandardPage


def paragraphs(*texts):
    """A StreamField value of paragraph blocks, one per text (escaped by the caller's choice)."""
    return [("paragraph", RichText(f"<p>{text}</p>")) for text in texts]


class HomePageFactory(wagtail_factories.PageFactory):
    title = "Heart and Soul of Change Project"
    slug = factory.Sequence(lambda n: f"home-{n}")
    introduction = "<p>Training and continuing education for helping professionals.</p>"

    class Meta:
        model = HomePage


class StandardPageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Standard page {n}")
    introduction = "A page about the project."
    body = factory.LazyFunction(lambda: paragraphs("Some text about the project."))

    class Meta:
        model = StandardPage


class NewsIndexPageFactory(wagtail_factories.PageFactory):
    title = "News"
    slug = "news"

    class Meta:
        model = NewsIndexPage


class ArticlePageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Article {n}")
    author = "Barry Duncan"
    date = datetime.date(2014, 12, 1)
    introduction = "A short summary of the article."
    body = factory.LazyFunction(lambda: paragraphs("The article's first paragraph."))

    class Meta:
        model = ArticlePage
        skip_postgeneration_save = True

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if extracted:
            self.tags.add(*extracted)
            if create:
                self.save_revision().publish()


def home_page(**kwargs):
    """A home page at the root of the default site, the way `load_demo` sets the site up."""
    root = Page.get_first_root_node()
    home = HomePageFactory(parent=root, **kwargs)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        site = Site(hostname="localhost", port=80, is_default_site=True)
    site.root_page = home
    site.site_name = "Heart and Soul of Change Project"
    site.save()
    SiteSettings.for_site(site)
    return home
