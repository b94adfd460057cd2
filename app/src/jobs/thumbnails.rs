//! Thumbnails: for each uploaded original (S3 object-created under `originals/`), decode the image (JPEG, PNG
//! or WebP), write one JPEG per size in `THUMBNAIL_SIZES` under `thumbnails/{id}/`, and mark the media ready.
//! Memory is bounded by design: a decode first reserves the bytes its header says its pixels need from
//! `DECODE_MEMORY_MB`, so the decodes in progress never hold more, however many uploads a batch brings.
//! An oversized or undecodable upload is the user's mistake, not the system's: the media item is marked failed
//! with the reason, and the message is done (no retry, no dead letter, no alarm).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder};
use kit::sqs_batch::JobError;

use super::{
    Jobs,
    s3_notification::{S3Notification, S3Record},
};
use crate::{
    models::{Media, MediaId, THUMBNAIL_SIZES},
    store::{MediaOutcome, StoreError},
};

/// Decoding refuses images whose pixels would need more memory than this.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 82;

pub async fn run(jobs: &Jobs, event: &S3Notification) -> Result<(), JobError> {
    if event.records.is_empty() {
        return Err(JobError::Permanent("an S3 event without records".into()));
    }
    for record in &event.records {
        process(jobs, record).await?;
    }
    Ok(())
}

async fn process(jobs: &Jobs, record: &S3Record) -> Result<(), JobError> {
    if record.s3.bucket.name != jobs.bucket {
        return Err(JobError::Permanent(format!(
            "a notification from bucket {}, not {}",
            record.s3.bucket.name, jobs.bucket
        )));
    }
    let key = record.s3.object.decoded_key();
    let id = Media::id_of_original(&key).ok_or_else(|| JobError::Permanent(format!("not an upload key: {key:?}")))?;
    let size = record.s3.object.size;
    if size > jobs.max_upload_bytes {
        return fail(jobs, id, format!("the upload is {size} bytes; the limit is {}", jobs.max_upload_bytes)).await;
    }
    let object = jobs
        .s3
        .get_object()
        .bucket(&jobs.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| JobError::retryable(aws_sdk_s3::Error::from(e)))?;
    let bytes = object.body.collect().await.map_err(JobError::retryable)?.into_bytes();
    if bytes.len() as u64 > jobs.max_upload_bytes {
        return fail(jobs, id, format!("the upload is {} bytes; the limit is {}", bytes.len(), jobs.max_upload_bytes))
            .await;
    }

    let need = match decoded_size(&bytes) {
        Ok(need) => need,
        Err(reason) => return fail(jobs, id, reason).await,
    };
    let Some(reserved) = jobs.decode_memory.reserve(need).await else {
        let budget = jobs.decode_memory.capacity_mib();
        return fail(jobs, id, format!("the image needs {need} bytes decoded; this host decodes {budget} MiB at most"))
            .await;
    };
    let rendered = tokio::task::spawn_blocking(move || {
        let _reserved = reserved;
        render(&bytes)
    })
    .await
    .map_err(JobError::retryable)?;
    let Rendered { width, height, thumbnails } = match rendered {
        Ok(rendered) => rendered,
        Err(reason) => return fail(jobs, id, reason).await,
    };
    let mut keys = Vec::new();
    for (size, jpeg) in thumbnails {
        let thumbnail_key = Media::thumbnail_key(id, size);
        jobs.s3
            .put_object()
            .bucket(&jobs.bucket)
            .key(&thumbnail_key)
            .content_type("image/jpeg")
            .cache_control("public, max-age=31536000, immutable")
            .body(jpeg.into())
            .send()
            .await
            .map_err(|e| JobError::retryable(aws_sdk_s3::Error::from(e)))?;
        keys.push((size, thumbnail_key));
    }
    finish(jobs, id, MediaOutcome::Ready { width, height, thumbnails: keys }).await
}

/// An upload decoded and thumbnailed.
struct Rendered {
    width: u32,
    height: u32,
    /// One JPEG per size in `THUMBNAIL_SIZES`.
    thumbnails: Vec<(u32, Vec<u8>)>,
}

/// A reader of `bytes` if they are an image of a type we take, with the decode limits set.
fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        other => return Err(format!("not a JPEG, PNG or WebP image (detected {other:?})")),
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    Ok(reader)
}

/// The bytes the decoded pixels of `bytes` will take, from the image's header alone.
fn decoded_size(bytes: &[u8]) -> Result<u64, String> {
    let decoder = reader(bytes)?.into_decoder().map_err(|e| format!("the image cannot be decoded: {e}"))?;
    Ok(decoder.total_bytes())
}

/// Decodes `bytes` and encodes a JPEG thumbnail per size, or says why not.
fn render(bytes: &[u8]) -> Result<Rendered, String> {
    let image = reader(bytes)?.decode().map_err(|e| format!("the image cannot be decoded: {e}"))?;
    let (width, height) = (image.width(), image.height());
    let thumbnails = THUMBNAIL_SIZES
        .iter()
        .map(|&size| {
            let scaled = if width.max(height) > size { image.thumbnail(size, size) } else { image.clone() };
            encode_jpeg(&scaled).map(|jpeg| (size, jpeg))
        })
        .collect::<Result<_, _>>()?;
    Ok(Rendered { width, height, thumbnails })
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&DynamicImage::ImageRgb8(image.to_rgb8()))
        .map_err(|e| format!("encoding a thumbnail failed: {e}"))?;
    Ok(jpeg)
}

async fn fail(jobs: &Jobs, id: MediaId, reason: String) -> Result<(), JobError> {
    tracing::info!(media = %id, %reason, "upload refused");
    finish(jobs, id, MediaOutcome::Failed(reason)).await
}

async fn finish(jobs: &Jobs, id: MediaId, outcome: MediaOutcome) -> Result<(), JobError> {
    match jobs.store.finish_media(id, outcome).await {
        Ok(_) => Ok(()),
        Err(StoreError::MediaNotFound) => Err(JobError::Permanent(format!("no media item {id} for this upload"))),
        // Attached to a post meanwhile: the retry reads it again and updates the post too.
        Err(err) => Err(JobError::retryable(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn thumbnails_fit_their_square_and_keep_the_aspect_ratio() {
        let rendered = render(&png(1000, 500)).unwrap();
        assert_eq!((rendered.width, rendered.height), (1000, 500));
        let sizes: Vec<(u32, u32)> = rendered
            .thumbnails
            .iter()
            .map(|(_, jpeg)| image::load_from_memory(jpeg).map(|i| (i.width(), i.height())).unwrap())
            .collect();
        assert_eq!(sizes, [(128, 64), (512, 256)]);
    }

    #[test]
    fn small_images_are_not_enlarged() {
        let rendered = render(&png(100, 80)).unwrap();
        let first = image::load_from_memory(&rendered.thumbnails[1].1).unwrap();
        assert_eq!((first.width(), first.height()), (100, 80));
    }

    #[test]
    fn the_decoded_size_is_known_from_the_header() {
        assert_eq!(decoded_size(&png(1000, 500)).unwrap(), 1000 * 500 * 3);
        assert!(decoded_size(b"definitely not an image").is_err());
    }

    #[test]
    fn garbage_and_other_formats_are_refused() {
        assert!(render(b"definitely not an image").err().unwrap().contains("not a JPEG"));
        let gif_header = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(render(gif_header).is_err());
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert!(render(&truncated).err().unwrap().contains("cannot be decoded"));
    }
}
