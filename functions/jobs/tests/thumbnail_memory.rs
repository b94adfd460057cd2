//! The thumbnail job's memory is bounded by design: eight 8000×8000 PNG uploads arrive at once, and the jobs
//! binary, given the jobs function's memory as Lambda gives it (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), makes their
//! thumbnails with a peak resident size under that memory. Lambda enforces the memory setting on resident memory,
//! not on address space, so the test reads the process's peak RSS (`VmHWM`) rather than running under
//! `ulimit -v` (which the runtime's reserved, untouched address space would trip first).

use std::{
    io::Cursor,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use stampede_tests::{TestApp, bucket_notifying_queue, queue_depth};

/// The jobs function's memory in the CDK stack (cdk/lib/functions.ts).
const FUNCTION_MEMORY_MB: u64 = 1024;

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_pixel(width, height, Rgb([40u8, 90, 200]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    bytes
}

/// The peak resident memory of process `pid` so far, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("Linux reports VmHWM");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[tokio::test]
async fn eight_8000_by_8000_pngs_at_once_stay_within_the_functions_memory() {
    let sdk = kit::aws::sdk_config().await;
    let (s3, sqs) = (app::state::s3_client(&sdk), aws_sdk_sqs::Client::new(&sdk));
    let (bucket, queue, dead_letters) = bucket_notifying_queue(&s3, &sqs).await;
    let app = TestApp::with_config(|c| c.media_bucket = bucket.clone()).await;
    let owner = app.user().await;
    let image = png(8000, 8000);
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(app.upload(&owner, "image/png", image.clone()).await["id"].as_str().unwrap().to_owned());
    }

    // All eight are queued before the job starts: one receive hands them to one batch, run concurrently.
    let mut jobs = Command::new(env!("CARGO_BIN_EXE_jobs"))
        .env("MEDIA_BUCKET", &bucket)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", FUNCTION_MEMORY_MB.to_string())
        .env_remove("DECODE_MEMORY_MB") // the default: half the function's memory
        .env("LOG_FORMAT", "json")
        .args(["--poll", &queue])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    for id in &ids {
        while app.get(&format!("/v1/media/{id}")).await.json()["status"] == "pending" {
            assert!(jobs.try_wait().unwrap().is_none(), "the jobs process died (out of memory?)");
            assert!(Instant::now() < deadline, "media {id} still pending after 240 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let media = app.get(&format!("/v1/media/{id}")).await.json();
        assert_eq!(media["status"], "ready", "{media}");
        assert_eq!((&media["width"], &media["height"]), (&8000.into(), &8000.into()));
    }
    let peak = peak_rss_mib(jobs.id());
    Command::new("kill").args(["-TERM", &jobs.id().to_string()]).status().unwrap();
    assert!(jobs.wait().unwrap().success());

    eprintln!("peak resident memory of the jobs process: {peak} MiB for 8 × 8000×8000 PNGs ({FUNCTION_MEMORY_MB} MB)");
    assert!(peak < FUNCTION_MEMORY_MB, "peak {peak} MiB, over the function's {FUNCTION_MEMORY_MB} MB");
    assert_eq!(queue_depth(&sqs, &dead_letters).await, 0);
}
