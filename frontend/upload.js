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
// The same back-off as tus-js-client: a deploy or a dropped connection during an upload is
// waited out (about 20 seconds in all) instead of stopping the upload.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Worth another try: the network failed, or the server is restarting / overloaded (502,
// 503, 504, 429). A 4xx answer (not yours, too large, wrong size) is final.
const retryable = (status) => status === 0 || status === 429 || status >= 500;

async function postJson(url, body, csrfToken) {
  let lastError = null;
  for (const delay of RETRY_DELAYS) {
    if (delay) await sleep(delay);
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body),
      });
    } catch (error) {
      lastError = new Error("Network error; the upload will go on when the connection is back.");
      continue;
    }
    const data = await response.json().catch(() => ({}));
    if (response.ok) return data;
    lastError = new Error(data.error || `The server answered ${response.status}.`);
    if (!retryable(response.status)) break;
  }
  throw lastError;
}

// Uppy's S3 requests retry a few times within about two seconds; when a part still fails,
// the whole upload is retried (it resumes from the parts S3 already has) with the back-off.
const retrying = new Set();

function retryS3Uploads(uppy, say) {
  const attempts = new Map();
  uppy.on("upload-error", (file, error) => {
    if (!file) return;
    const attempt = attempts.get(file.id) || 0;
    const status = error && error.request ? error.request.status : 0;
    if (attempt >= RETRY_DELAYS.length - 1 || (status && !retryable(status))) return;
    attempts.set(file.id, attempt + 1);
    retrying.add(file.id);
    const delay = RETRY_DELAYS[attempt + 1];
    say(`The connection dropped; trying again in ${Math.round(delay / 1000)} s…`);
    setTimeout(() => {
      retrying.delete(file.id);
      uppy.retryUpload(file.id);
    }, delay);
  });
  uppy.on("upload-success", (file) => attempts.delete(file.id));
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
  // Progress shows in one place: Uppy's status bar while the upload runs (it has the pause,
  // resume and retry buttons), hidden once the upload is done; the page then says what
  // happens next and links to the video's status, with no bar left behind.

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
    hideProgressAfterFinish: true,
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
    retryS3Uploads(uppy, say);
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
    // Uppy reports progress once more after success; keep the "complete" message then.
    if (!complete) say(`Uploaded ${percent}%`);
  });
  uppy.on("upload-error", (file, error) => {
    if (!file || !retrying.has(file.id)) say(`The upload stopped: ${error.message}`);
  });
  uppy.on("restriction-failed", (file, error) => say(error.message));
}

document.addEventListener("DOMContentLoaded", () => {
  const target = document.getElementById("video-uploader");
  if (target) start(target);
});
