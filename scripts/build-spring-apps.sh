#!/usr/bin/env bash
# Builds the Spring Cloud test peers (examples/spring-cloud) into examples/spring-cloud/target/apps/:
# eureka-server and demo-{eureka,zookeeper,nacos,consul}, each as target/apps/NAME/NAME.jar (run it
# with `java -jar`; its libraries beside it in lib/) plus target/apps/NAME/app.jsa, a class-data
# archive from a training run that cuts the JVM's start-up about threefold (Spring Boot's CDS
# recipe: `-Djarmode=tools extract`, then `-XX:ArchiveClassesAtExit` with
# `-Dspring.context.exit=onRefresh`). The fat jars stay in each module's target/. `make
# spring-apps` runs it, and so does `make build`.
#
# - Rebuilds only when a source, a pom, this script or the JDK changed (a stamp of their hashes
#   sits beside the jars); otherwise it returns at once.
# - Offline-friendly: Maven runs with -o first, so a machine whose local repository (~/.m2, or
#   MAVEN_REPO_LOCAL) already holds every artifact never touches the network; only when that
#   fails (first build, a new dependency) does it run online, from Maven Central.
# - Quiet (-q), Maven's test phase skipped (the apps are tested by tests/e2e).
# SLUICE_SKIP_SPRING_APPS=1 skips the whole step (for a machine without Java); SLUICE_SPRING_CDS=0
# skips the training runs (about 10-30 s per app, two at a time; each saves seconds per start-up).
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=examples/spring-cloud
# Absolute and symlink-free: a class-data archive is only used when the JVM's class path is
# spelled exactly as in the training run (the tests and the demo canonicalise it too).
OUT=$(pwd -P)/$SRC/target/apps
JARS=(eureka-server/target/eureka-server.jar eureka/target/demo-eureka.jar
      zookeeper/target/demo-zookeeper.jar nacos/target/demo-nacos.jar consul/target/demo-consul.jar)
# The JVM options the tests start the apps with (tests/e2e/lib/spring.mjs SPRING_JVM_OPTIONS):
# the training run uses the same ones.
JVM_OPTIONS=(-XX:TieredStopAtLevel=1 -Xshare:auto -XX:+UseSerialGC -Xss512k -Xmx256m)
# The training run loads what a provider loads, then exits after the context refresh; the
# registries point at a closed port so nothing outside is contacted.
TRAINING_ARGS=(--server.port=0 --server.address=127.0.0.1 --spring.profiles.active=provider
  --eureka.client.service-url.defaultZone=http://127.0.0.1:1/eureka/
  --spring.cloud.zookeeper.connect-string=127.0.0.1:1 --spring.cloud.zookeeper.block-until-connected-wait=1
  --spring.cloud.nacos.discovery.server-addr=127.0.0.1:1
  --spring.cloud.consul.host=127.0.0.1 --spring.cloud.consul.port=1)

if [[ "${SLUICE_SKIP_SPRING_APPS:-0}" == 1 ]]; then
  echo "spring-apps: skipped (SLUICE_SKIP_SPRING_APPS=1)"
  exit 0
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "spring-apps: $tool not found; run scripts/install-deps.sh (it installs JDK 17 and Maven)" >&2
    exit 1
  fi
done

mkdir -p "$OUT"
# One build at a time per checkout (make build and make spring-apps may run together).
exec 9>"$OUT/.lock"
flock 9

stamp() {
  {
    # What goes into the jars: the poms and every module's src/ (not target/, not READMEs).
    find "$SRC" -path "$SRC/*/target" -prune -o -path "$SRC/target" -prune -o -type f \
      \( -name pom.xml -o -path '*/src/*' \) -print | LC_ALL=C sort | xargs sha256sum
    sha256sum "$0"
    java -version 2>&1
    echo "cds=${SLUICE_SPRING_CDS:-1}"
  } | sha256sum | cut -d' ' -f1
}

want=$(stamp)
up_to_date=1
[[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$want" ]] || up_to_date=0
for jar in "${JARS[@]}"; do
  name=$(basename "$jar" .jar)
  [[ -f "$OUT/$name/$name.jar" ]] || up_to_date=0
done
if ((up_to_date)); then
  echo "spring-apps: up to date ($OUT)"
  exit 0
fi

# Maven's own JVM starts faster with C1 only; the build is short and I/O bound.
export MAVEN_OPTS="${MAVEN_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
mvn_args=(-B -q -DskipTests -f "$SRC/pom.xml")
if [[ -n "${MAVEN_REPO_LOCAL:-}" ]]; then mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL"); fi

start=$(date +%s)
offline_log=$(mktemp)
trap 'rm -f "$offline_log"' EXIT
rm -f "$OUT"/*.jar  # the layout before class-data archives
if mvn -o "${mvn_args[@]}" package >"$offline_log" 2>&1; then
  mode=offline
else
  echo "spring-apps: not everything is in the local Maven repository; building online"
  mvn "${mvn_args[@]}" package
  mode=online
fi

rm -f "$OUT/.stamp"
train_home=$(mktemp -d)
trap 'rm -rf "$offline_log" "$train_home"' EXIT

# Extracts one fat jar into $OUT/NAME/ and trains its class-data archive.
prepare_app() {
  local jar=$1 name
  name=$(basename "$jar" .jar)
  rm -rf "${OUT:?}/$name"
  java -Djarmode=tools -jar "$SRC/$jar" extract --destination "$OUT/$name" >/dev/null
  [[ "${SLUICE_SPRING_CDS:-1}" == 0 ]] && return 0
  # A failed training run only costs start-up time: the app runs without the archive.
  if ! timeout 300 java "${JVM_OPTIONS[@]}" "-Duser.home=$train_home/$name" \
      -Dspring.context.exit=onRefresh -XX:ArchiveClassesAtExit="$OUT/$name/app.jsa" \
      -Xlog:cds=off -Xlog:cds+dynamic=off \
      -jar "$OUT/$name/$name.jar" "${TRAINING_ARGS[@]}" >"$OUT/$name/training.log" 2>&1; then
    echo "spring-apps: warning: class-data training run of $name failed (see $OUT/$name/training.log);" \
      "it will start without an archive" >&2
    rm -f "$OUT/$name/app.jsa"
  fi
}

# Two at a time: a Spring Boot start-up is mostly one thread, the machine has two cores.
pids=()
for jar in "${JARS[@]}"; do
  prepare_app "$jar" &
  pids+=($!)
  if ((${#pids[@]} == 2)); then
    for pid in "${pids[@]}"; do wait "$pid"; done
    pids=()
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "$want" >"$OUT/.stamp"
echo "spring-apps: built ${#JARS[@]} apps into $OUT in $(($(date +%s) - start)) s ($mode)"
