// Resumable video upload for trainer certification: Uppy with tus (local storage) or
// S3 multipart with URLs presigned by the project. Config comes from data- attributes
// because the CSP forbids inline scripts.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
import AwsS3 from "@uppy/aws-s3";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import "./upload.css";

const MiB = 1024 * 1024;

function postJson(url, body, csrfToken) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
    return data;
  });
}

// Uppy's Dashboard marks each file as a list item inside a role="presentation" wrapper,
// which screen readers (and axe) reject; the wrapper is the list, so say so.
function labelFileList(target) {
  const fix = () => {
    target.querySelectorAll(".uppy-Dashboard-filesInner").forEach((list) => {
      if (list.getAttribute("role") !== "list") list.setAttribute("role", "list");
    });
  };
  new MutationObserver(fix).observe(target, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["role"],
  });
  fix();
}

function start(target) {
  const config = JSON.parse(target.dataset.uploadConfig);
  const status = document.getElementById("upload-status");
  const progress = document.getElementById("upload-progress");
  const done = document.getElementById("upload-done");
  let complete = false;
  const say = (text) => {
    if (status) status.textContent = text;
  };
  const finished = (text) => {
    complete = true;
    say(text);
    if (done) done.hidden = false;
  };

  const uppy = new Uppy({
    id: `video-${config.submission}`,
    autoProceed: false,
    restrictions: {
      maxNumberOfFiles: 1,
      maxFileSize: config.maxBytes,
      allowedFileTypes: ["video/*", ".mp4", ".mov", ".m4v", ".mkv", ".webm"],
    },
    meta: { submission: config.submission },
  });

  uppy.use(Dashboard, {
    target,
    inline: true,
    width: "100%",
    height: 360,
    proudlyDisplayPoweredByUppy: false,
    showProgressDetails: true,
    hideRetryButton: false,
    hidePauseResumeButton: false,
    note: "One video file. You can pause, resume, and come back later to continue.",
    locale: {
      strings: {
        dropPasteFiles: "Drop your video here or %{browseFiles}",
        uploadXFiles: { 0: "Upload the video", 1: "Upload the video" },
      },
    },
  });
  labelFileList(target);

  if (config.mode === "s3") {
    uppy.use(AwsS3, {
      shouldUseMultipart: true,
      limit: 1,
      getChunkSize: (file) => Math.max(8 * MiB, Math.ceil(file.size / 9000)),
      signRequest: (request) => {
        const file = uppy.getFiles()[0];
        return postJson(
          config.s3Sign,
          {
            ...request,
            submission: config.submission,
            size: file ? file.size : 0,
            filename: file ? file.name : "",
          },
          config.csrfToken,
        );
      },
    });
    uppy.on("upload-success", () => {
      say("Upload complete. Checking the file…");
      postJson(config.s3Finish, { submission: config.submission }, config.csrfToken)
        .then(() => finished("Upload complete. We are now checking and preparing your video."))
        .catch((error) => say(error.message));
    });
  } else {
    uppy.use(Tus, {
      endpoint: config.tusEndpoint,
      // Without chunkSize tus-js-client sends the whole rest of the file in one request.
      chunkSize: 8 * MiB,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      headers: { "X-CSRFToken": config.csrfToken },
      allowedMetaFields: ["submission", "name", "type"],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
    });
    uppy.on("upload-success", () => {
      finished("Upload complete. We are now checking and preparing your video.");
    });
  }

  uppy.on("progress", (percent) => {
    if (progress) progress.value = percent;
    // Uppy reports 100% once more after success; keep the "complete" message then.
    if (!complete) say(`Uploaded ${percent}%`);
  });
  uppy.on("upload-error", (file, error) => say(`The upload stopped: ${error.message}`));
  uppy.on("restriction-failed", (file, error) => say(error.message));
}

document.addEventListener("DOMContentLoaded", () => {
  const target = document.getElementById("video-uploader");
  if (target) start(target);
});
