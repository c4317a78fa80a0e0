"""S3 multipart uploads: the browser talks to the bucket with URLs the project presigns.

Uppy's aws-s3 plugin asks for a presigned URL for each request (create, upload part, list
parts, complete, abort); the project signs only requests for the candidate's own object, whose
key it generates. The video's bytes never pass through Django. When the browser reports the
upload finished, the object's real size is checked against the declared one and the limit.
The bucket needs CORS exposing `ETag` and a lifecycle rule aborting stale multipart uploads
(`bucket.configure_bucket`, run by `manage.py trainers_s3_setup`).
"""

from django.utils.translation import gettext as _

from . import services
from .bucket import (
    bucket_name,
    client,
    client_errors,
    configure_bucket,
    is_active,
    key_for,
    presign,
)
from .models import VideoUpload

# Views, playback and the setup command use these names from here.
__all__ = ["configure_bucket", "finish", "is_active", "sign_request"]


def sign_request(submission, *, owner, request):
    """Presign one S3 request Uppy asks for; only for this candidate's own upload object.

    `request` is Uppy's description: method, key, and uploadId / partNumber when relevant.
    The object key is always the project's own (generated) name, never the file's name.
    """
    method = request.get("method")
    upload_id = request.get("uploadId") or ""
    if method == "POST" and not upload_id:
        upload = services.create_upload(
            submission,
            owner=owner,
            length=int(request.get("size") or 0),
            filename=request.get("filename", ""),
            backend=VideoUpload.Backend.S3,
        )
        upload.s3_key = key_for(f"{services.submission_prefix(submission)}/source")
        upload.save(update_fields=["s3_key"])
        return {"url": presign("create_multipart_upload", Key=upload.s3_key), "key": upload.s3_key}
    upload = VideoUpload.objects.filter(
        submission=submission, owner=owner, backend=VideoUpload.Backend.S3
    ).first()
    if upload is None or request.get("key") != upload.s3_key or not upload_id:
        raise services.CertificationError(_("This upload does not belong to you."))
    if not upload.s3_upload_id:
        # S3 chose the id when the browser created the upload; the first later call tells us.
        upload.s3_upload_id = upload_id
        upload.save(update_fields=["s3_upload_id"])
    elif upload.s3_upload_id != upload_id:
        raise services.CertificationError(_("This upload does not belong to you."))
    common = {"Key": upload.s3_key, "UploadId": upload_id}
    if method == "PUT":
        part = int(request.get("partNumber") or 0)
        if not 1 <= part <= 10000:
            raise services.CertificationError("Part numbers run from 1 to 10,000.")
        return {"url": presign("upload_part", PartNumber=part, **common)}
    if method == "POST":
        return {"url": presign("complete_multipart_upload", **common)}
    if method == "GET":
        return {"url": presign("list_parts", **common)}
    if method == "DELETE":
        return {"url": presign("abort_multipart_upload", **common)}
    raise services.CertificationError("Unsupported request.")


def finish(submission, *, owner):
    """After the browser completed the multipart upload: check the object, start processing."""
    upload = VideoUpload.objects.filter(
        submission=submission, owner=owner, backend=VideoUpload.Backend.S3
    ).first()
    if upload is None or not upload.s3_key:
        raise services.CertificationError(_("No upload to finish."))
    s3_client = client()
    try:
        size = s3_client.head_object(Bucket=bucket_name(), Key=upload.s3_key)["ContentLength"]
    except client_errors() as error:
        raise services.CertificationError(_("The upload has not finished; try again.")) from error
    name = f"{services.submission_prefix(submission)}/source"
    if size != upload.length or size > submission.enrolment.track.max_upload_bytes:
        s3_client.delete_object(Bucket=bucket_name(), Key=upload.s3_key)
        services.mark_failed(
            submission,
            reason=_(
                "The uploaded file has %(size)s bytes, not the %(announced)s announced. "
                "Please upload it again."
            )
            % {"size": size, "announced": upload.length},
        )
        raise services.CertificationError(_("The uploaded size does not match; upload again."))
    return services.complete_upload(upload, source_name=name)
