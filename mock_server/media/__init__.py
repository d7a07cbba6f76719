"""fal's CDN and storage: file and upload routes, files, uploads, images, the video renderer."""
