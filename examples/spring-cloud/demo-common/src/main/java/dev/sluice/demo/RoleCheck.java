package dev.sluice.demo;

import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;

/** Fails the start-up with a clear message when no role profile is active. */
@Configuration(proxyBeanMethods = false)
@Profile("!provider & !consumer")
public class RoleCheck {
  public RoleCheck() {
    throw new IllegalStateException(
        "no role: start with --spring.profiles.active=provider or --spring.profiles.active=consumer");
  }
}
