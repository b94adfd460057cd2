//! `scripts/deploy function` as a user runs it, against the emulator's copy of the stack: new code lands on the
//! stack's own function (no function is created beside it), and the configuration the stack set is untouched.

use std::{path::PathBuf, process::Command};

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// What `cdk deploy` owns on a function, which a code deploy must leave alone.
fn stack_owned(config: &GetFunctionConfigurationOutput) -> String {
    let mut environment: Vec<_> = config.environment().and_then(|e| e.variables()).into_iter().flatten().collect();
    environment.sort();
    format!(
        "role={:?} memory={:?} timeout={:?} handler={:?} runtime={:?} architectures={:?} tracing={:?} env={environment:?}",
        config.role(),
        config.memory_size(),
        config.timeout(),
        config.handler(),
        config.runtime(),
        config.architectures(),
        config.tracing_config().and_then(|t| t.mode()),
    )
}

#[tokio::test]
async fn a_function_deploy_changes_the_stacks_function_code_and_nothing_else() {
    stampede_tests::emulator_config().await; // fails clearly without the emulator
    let name = std::env::var("API_FUNCTION_NAME").expect("the stack's outputs (scripts/test sets API_FUNCTION_NAME)");
    let lambda = aws_sdk_lambda::Client::new(&kit::aws::sdk_config().await);
    let functions = async || lambda.list_functions().send().await.unwrap().functions().len();
    let (count_before, before) =
        (functions().await, lambda.get_function_configuration().function_name(&name).send().await.unwrap());

    // New code: the api binary with a marker appended (an ELF runs with trailing bytes), so its hash differs.
    let binary = std::env::temp_dir().join(format!("stampede-deploy-{}/bootstrap", ulid::Ulid::generate()));
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    let mut code = std::fs::read(workspace().join("target/debug/api")).unwrap();
    code.extend_from_slice(b"stampede-deploy-test");
    std::fs::write(&binary, code).unwrap();
    let output = Command::new(workspace().join("scripts/deploy"))
        .args(["function", "dev", "api", "--binary-path"])
        .arg(&binary)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "scripts/deploy function failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let after = lambda.get_function_configuration().function_name(&name).send().await.unwrap();
    assert_ne!(after.code_sha256(), before.code_sha256(), "the code changed");
    assert_eq!(stack_owned(&after), stack_owned(&before), "the stack's configuration is untouched");
    assert_eq!(functions().await, count_before, "no function was created beside the stack's");
    let _ = std::fs::remove_dir_all(binary.parent().unwrap());
}
