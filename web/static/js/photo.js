// The photo page (profile photo, check-in photo): take a picture with the camera, or choose a
// file. Either way the picture ends up in the form's file input, so the ordinary form submit
// sends it and the page also works where the camera does not.
"use strict";

(function () {
  const video = document.getElementById("camera");
  const takeButton = document.getElementById("take-photo");
  const preview = document.getElementById("photo-preview");
  const fileInput = document.getElementById("photo-file");
  const submitButton = document.getElementById("photo-submit");
  const status = document.getElementById("photo-status");
  const JPEG_QUALITY = 0.9;
  let stream = null;
  let previewUrl = null;

  function showPreview(blob) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(blob);
    preview.src = previewUrl;
    preview.hidden = false;
  }

  function chosen(ready) {
    submitButton.disabled = !ready;
  }

  function frameAsJpeg() {
    // The video's own size (e.g. 640x480), not the size it is shown at.
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }

  async function takePhoto() {
    if (!video.videoWidth) return; // no picture yet
    const blob = await frameAsJpeg();
    if (!blob) return;
    const file = new File([blob], "photo.jpg", { type: "image/jpeg", lastModified: Date.now() });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    fileInput.files = transfer.files;
    showPreview(file);
    chosen(true);
  }

  function canFillInput() {
    // Old browsers cannot put a picture into a file input; there the input alone is offered
    // (on phones it opens the camera itself).
    try {
      return typeof DataTransfer === "function" && Boolean(new DataTransfer().files);
    } catch (error) {
      return false;
    }
  }

  function noCamera(text) {
    if (text) status.textContent = text;
    takeButton.hidden = true;
    video.hidden = true;
  }

  async function startCamera() {
    takeButton.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (error) {
      // The file input stays as the way to go on; say why the camera is not there.
      const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      noCamera(denied ? status.dataset.denied : status.dataset.notFound);
      return;
    }
    video.srcObject = stream;
    video.addEventListener("loadedmetadata", () => { takeButton.disabled = false; }, { once: true });
    video.play().catch(() => { /* autoplay of a muted video is allowed; nothing to do */ });
  }

  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    if (file) showPreview(file); else preview.hidden = true;
    chosen(Boolean(file));
  });

  takeButton.addEventListener("click", takePhoto);

  window.addEventListener("pagehide", () => {
    if (stream) stream.getTracks().forEach((track) => track.stop());
  });

  chosen(Boolean(fileInput.files && fileInput.files.length));
  if (!canFillInput()) noCamera("");
  else if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) startCamera();
  else noCamera(status.dataset.notFound);
})();
