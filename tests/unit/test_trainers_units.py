"""Small pieces of trainer certification: parsing, rubric arithmetic, probing, demo data."""

import io

import pytest

from certification.trainers import processing
from certification.trainers.forms import parse_timestamp
from certification.trainers.playback import parse_range
from certification.trainers.services import evaluate_scores, safe_display_name
from certification.trainers.tus import parse_metadata


def test_parse_range():
    assert parse_range(None, 1000) is None
    assert parse_range("bytes=0-99", 1000) == (0, 99)
    assert parse_range("bytes=900-", 1000) == (900, 999)
    assert parse_range("bytes=-100", 1000) == (900, 999)
    assert parse_range("bytes=990-2000", 1000) == (990, 999)
    assert parse_range("bytes=1000-", 1000) == "invalid"
    assert parse_range("bytes=50-10", 1000) == "invalid"
    assert parse_range("bytes=-0", 1000) == "invalid"
    assert parse_range("items=0-1", 1000) == "invalid"


def test_parse_metadata():
    assert parse_metadata("filename bXkudmlkZW8ubXA0,submission YWJj,empty") == {
        "filename": "my.video.mp4",
        "submission": "abc",
        "empty": "",
    }
    assert parse_metadata("bad !!!notbase64") == {"bad": ""}
    assert parse_metadata(None) == {}


def test_parse_timestamp():
    assert parse_timestamp("75") == 75
    assert parse_timestamp("1:15") == 75
    assert parse_timestamp("1:02:03") == 3723
    assert parse_timestamp("soon") is None
    assert parse_timestamp("-1") is None
    assert parse_timestamp("") is None


def test_safe_display_name_drops_paths_and_control_characters():
    assert safe_display_name("../../etc/passwd") == "passwd"
    assert safe_display_name("C:\\Users\\me\\clip.mov") == "clip.mov"
    assert safe_display_name("a\x00b\nc.mp4") == "abc.mp4"
    assert safe_display_name("") == "video"


class _Criterion:
    def __init__(self, pk, required, minimum):
        self.pk, self.required, self.minimum_points = pk, required, minimum


class _Level:
    def __init__(self, points):
        self.points = points


class _Rubric:
    pass_threshold = 5

    class criteria:  # noqa: N801 - mimics a related manager
        @staticmethod
        def all():
            return [_Criterion(1, True, 2), _Criterion(2, False, 0), _Criterion(3, False, 0)]


def test_rubric_needs_threshold_and_required_minimums():
    assert evaluate_scores(_Rubric, {1: _Level(2), 2: _Level(2), 3: _Level(1)}) == (5, True)
    assert evaluate_scores(_Rubric, {1: _Level(2), 2: _Level(1), 3: _Level(1)}) == (4, False)
    assert evaluate_scores(_Rubric, {1: _Level(1), 2: _Level(3), 3: _Level(3)}) == (7, False)


def test_describe_rejects_audio_only_and_cover_art():
    audio_only = {"streams": [{"codec_type": "audio"}], "format": {"duration": "3"}}
    with pytest.raises(processing.VideoRejected, match="no video picture"):
        processing.describe(audio_only)
    cover = {
        "streams": [
            {"codec_type": "video", "disposition": {"attached_pic": 1}},
            {"codec_type": "audio", "codec_name": "aac"},
        ],
        "format": {"duration": "3"},
    }
    with pytest.raises(processing.VideoRejected):
        processing.describe(cover)


def test_browser_safe_means_h264_yuv420p_aac_in_mp4():
    base = {
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "video_codec": "h264",
        "_pix_fmt": "yuv420p",
        "audio_codec": "aac",
    }
    assert processing.is_browser_safe(base)
    assert processing.is_browser_safe({**base, "audio_codec": ""})
    assert not processing.is_browser_safe({**base, "_pix_fmt": "yuv422p"})
    assert not processing.is_browser_safe({**base, "video_codec": "hevc"})
    assert not processing.is_browser_safe({**base, "container": "matroska,webm"})


def test_ffprobe_refuses_an_hls_playlist_named_mp4(tmp_path):
    playlist = tmp_path / "video.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n")
    with pytest.raises(processing.VideoRejected, match="not a video we can read"):
        processing.probe(playlist)


@pytest.mark.django_db
def test_demo_content_is_idempotent():
    from certification.trainers import demo
    from certification.trainers.models import Question, Requirement, Track

    demo.load_demo_content(io.StringIO())
    counts = (Track.objects.count(), Requirement.objects.count(), Question.objects.count())
    demo.load_demo_content(io.StringIO())
    assert counts == (Track.objects.count(), Requirement.objects.count(), Question.objects.count())
    trainer = Track.objects.get(slug="certified-trainer")
    kinds = [r.kind for r in trainer.requirements.all()]
    assert kinds == ["attendance", "video", "assessment", "evidence"]
    assert trainer.requirements.get(kind="attendance").programme.name == "Training of Trainers"
    assert trainer.rubric.criteria.filter(required=True).count() == 2
    supervisor = Track.objects.get(slug="fit-supervisor")
    assert supervisor.requirements.get(kind="attendance").programme.name == "FIT Supervision"
