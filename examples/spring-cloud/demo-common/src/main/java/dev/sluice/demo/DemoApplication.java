package dev.sluice.demo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The seed's demo application. The role is a Spring profile: {@code provider} (serves
 * {@code /echo/{s}} as version {@code demo.version}) or {@code consumer} (calls the provider by
 * service name through Spring Cloud LoadBalancer). The registry comes from the flavour jar this
 * class is packaged in (nacos, eureka, consul, zookeeper).
 */
@SpringBootApplication
public class DemoApplication {
  public static void main(String[] args) {
    SpringApplication.run(DemoApplication.class, args);
  }
}
