package dev.sluice.demo;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Profile;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** The provider of the seed (nacos-examples' discovery demo): answers with its version. */
@RestController
@Profile("provider")
public class ProviderController {
  private final String version;

  public ProviderController(@Value("${demo.version}") String version) {
    this.version = version;
  }

  @GetMapping("/echo/{string}")
  public String echo(@PathVariable("string") String string) {
    return "Hello Nacos Discovery From " + version + string;
  }
}
